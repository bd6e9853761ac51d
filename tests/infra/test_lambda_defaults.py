"""The custom asset hash: what makes CDK rebuild (or reuse) a code asset."""

from pathlib import Path

from infra.lambda_defaults import hash_paths


def make_service(root: Path) -> Path:
    service = root / "svc"
    (service / "handlers").mkdir(parents=True)
    (service / "handlers" / "api.py").write_text("def handler(event, context): ...\n")
    return service


def test_hash_ignores_bytecode_caches(tmp_path: Path) -> None:
    service = make_service(tmp_path)
    before = hash_paths(service)

    (service / "handlers" / "__pycache__").mkdir()
    (service / "handlers" / "__pycache__" / "api.cpython-313.pyc").write_bytes(b"\x00")

    assert hash_paths(service) == before


def test_hash_changes_with_content_and_with_names(tmp_path: Path) -> None:
    service = make_service(tmp_path)
    original = hash_paths(service)

    (service / "handlers" / "api.py").write_text("def handler(event, context): return 1\n")
    edited = hash_paths(service)
    (service / "handlers" / "api.py").rename(service / "handlers" / "http.py")
    renamed = hash_paths(service)

    assert len({original, edited, renamed}) == 3


def test_hash_of_one_service_ignores_the_others(tmp_path: Path) -> None:
    service = make_service(tmp_path)
    before = hash_paths(service)

    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "x.py").write_text("x = 1\n")

    assert hash_paths(service) == before


def test_salt_changes_the_hash(tmp_path: Path) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("pydantic==2.14.4\n")

    assert hash_paths(requirements, salt="--platform=a") != hash_paths(
        requirements, salt="--platform=b"
    )
