"""The emulator kit's patch mechanism (emulator/hostexec/orderflow_hostexec/patches.py): every
patch is checked against what is installed before any is applied, and a patch whose target is
missing or has another shape, or a distribution that differs from its pin, refuses start-up
with a line naming the patch. Driven with stand-in modules: no LocalStack, no interpreter."""

from __future__ import annotations

import sys
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from emulator import ctl
from orderflow_hostexec import kit, patches, registry
from orderflow_hostexec.patches import Patch, PatchRefused, Target

PINS = {"localstack-core": "2026.3.0", "localstack-twisted": "26.4.0"}
FAKE = "fake_localstack.services.thing"


def pinned_versions(distribution: str) -> str | None:
    return PINS.get(distribution)


def found(version: str) -> Callable[[str], str | None]:
    return lambda distribution: version if distribution == "localstack-core" else None


class Poller:
    def get_records(self, shard_iterator: str) -> dict[str, Any]:
        return {}


def parse(path: str, debug: bool = False) -> str:
    return path


@pytest.fixture
def fake_module(monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    """A stand-in for a LocalStack module, importable by name for the test's duration."""
    module = types.ModuleType(FAKE)
    module.Poller = Poller  # type: ignore[attr-defined]
    module.parse = parse  # type: ignore[attr-defined]
    module.LIMIT = 10  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, FAKE, module)
    return module


def patch_of(*targets: Target, name: str = "thing.faster", **kwargs: Any) -> Patch:
    return Patch(name=name, kind="performance", purpose="a test", targets=targets, **kwargs)


def refusal(
    patch_list: list[Patch], installed: Callable[[str], str | None] = pinned_versions
) -> PatchRefused:
    with pytest.raises(PatchRefused) as refused:
        patches.start(patch_list, pins=PINS, installed=installed)
    return refused.value


def test_a_patch_whose_target_matches_is_applied_and_reported(fake_module: Any) -> None:
    # Given a patch on a target of the expected shape
    calls: list[str] = []
    patch = patch_of(
        Target(FAKE, "Poller.get_records", parameters=("self", "shard_iterator")),
        Target(FAKE, "Poller", shape="class"),
        Target(FAKE, "LIMIT", shape="object"),
        apply=lambda: calls.append("applied"),
    )
    relied_on = patch_of(Target(FAKE, "parse"), name="kit.relied-on")

    # When the kit starts
    report = patches.start([patch, relied_on], pins=PINS, installed=pinned_versions)

    # Then it is applied once, and the report says so (what is only relied on: verified)
    assert calls == ["applied"]
    assert [(entry["name"], entry["status"]) for entry in report] == [
        ("thing.faster", "applied"),
        ("kit.relied-on", "verified"),
    ]
    assert patches.applied() == report


@pytest.mark.parametrize(
    ("target", "problem"),
    [
        (Target(FAKE, "Poller.fetch"), f"{FAKE}.Poller has no attribute fetch"),
        (Target(FAKE, "gone.parse"), f"{FAKE} has no attribute gone"),
        (
            Target("fake_localstack.moved", "parse"),
            "cannot import fake_localstack.moved (No module named 'fake_localstack')",
        ),
        (Target(FAKE, "LIMIT"), f"{FAKE}.LIMIT is not callable (found int)"),
        (Target(FAKE, "parse", shape="class"), f"{FAKE}.parse is not a class (found function)"),
        (
            Target(FAKE, "parse", parameters=("path",)),
            f"{FAKE}.parse takes (path, debug), expected (path)",
        ),
        (
            Target(FAKE, "Poller.get_records", parameters=("self", "iterator")),
            f"{FAKE}.Poller.get_records takes (self, shard_iterator), expected (self, iterator)",
        ),
    ],
)
def test_a_target_missing_or_of_another_shape_refuses_naming_the_patch(
    fake_module: Any, target: Target, problem: str
) -> None:
    # Given a patch whose target moved, or changed shape
    applied: list[str] = []
    patch = patch_of(target, apply=lambda: applied.append("applied"))

    # When the kit starts, then it refuses, naming the patch, the problem and the versions
    refused = refusal([patch])
    assert refused.problems == [
        f"orderflow patch 'thing.faster': {problem}; pinned localstack-core 2026.3.0, "
        "found 2026.3.0"
    ]
    assert "refusing to start" in str(refused)
    assert applied == []


def test_a_version_other_than_the_pin_refuses_even_when_every_target_fits(
    fake_module: Any,
) -> None:
    # Given a patch whose targets all fit, on a LocalStack other than the pinned one
    applied: list[str] = []
    patch = patch_of(Target(FAKE, "parse"), apply=lambda: applied.append("applied"))

    # When the kit starts, then it refuses and says which version it found
    refused = refusal([patch], installed=found("2026.4.0"))
    assert refused.problems == [
        "orderflow patch 'thing.faster': not written for the installed version; "
        "pinned localstack-core 2026.3.0, found 2026.4.0"
    ]
    assert applied == []


def test_a_target_problem_names_the_distribution_whose_version_differs(
    fake_module: Any,
) -> None:
    patch = patch_of(
        Target(FAKE, "parse_all"), distributions=("localstack-core", "localstack-twisted")
    )

    refused = refusal([patch], installed=found("2026.4.0"))

    assert refused.problems == [
        f"orderflow patch 'thing.faster': {FAKE} has no attribute parse_all; "
        "pinned localstack-core 2026.3.0, found 2026.4.0; "
        "pinned localstack-twisted 26.4.0, found None"
    ]


def test_a_distribution_without_a_pin_refuses(fake_module: Any) -> None:
    patch = patch_of(Target(FAKE, "parse"), distributions=("jsonpath-ng",))

    refused = refusal([patch], installed=lambda distribution: "1.7.0")

    assert refused.problems == [
        "orderflow patch 'thing.faster': not written for the installed version; "
        "pinned jsonpath-ng (no == pin), found 1.7.0"
    ]


def test_nothing_is_applied_unless_every_patch_fits(fake_module: Any) -> None:
    # Given a good patch declared before a broken one
    applied: list[str] = []
    good = patch_of(Target(FAKE, "parse"), name="good.one", apply=lambda: applied.append("good"))
    broken = patch_of(Target(FAKE, "nothing"), name="broken.one")

    # When the kit starts, then it refuses and the good one was not applied either
    refused = refusal([good, broken])
    assert [problem.split(":")[0] for problem in refused.problems] == [
        "orderflow patch 'broken.one'"
    ]
    assert applied == []


def test_a_patch_s_own_check_can_refuse(fake_module: Any) -> None:
    def fails() -> str | None:
        raise KeyError("role_arn")

    patches_ = [
        patch_of(Target(FAKE, "parse"), name="a.check", check=lambda: "it reads no role_arn"),
        patch_of(Target(FAKE, "parse"), name="b.check", check=fails),
        patch_of(Target(FAKE, "parse"), name="c.check", check=lambda: None),
    ]

    refused = refusal(patches_)

    assert refused.problems == [
        "orderflow patch 'a.check': it reads no role_arn; pinned localstack-core 2026.3.0, "
        "found 2026.3.0",
        "orderflow patch 'b.check': its check failed: KeyError: 'role_arn'; "
        "pinned localstack-core 2026.3.0, found 2026.3.0",
    ]


def test_a_patch_that_fails_to_apply_refuses_naming_it(fake_module: Any) -> None:
    def breaks() -> None:
        raise AttributeError("can't set attribute")

    refused = refusal([patch_of(Target(FAKE, "parse"), apply=breaks)])

    assert refused.problems == [
        "orderflow patch 'thing.faster': failed to apply: AttributeError: can't set attribute"
    ]


def test_two_patches_of_one_name_refuse(fake_module: Any) -> None:
    refused = refusal([patch_of(Target(FAKE, "parse")), patch_of(Target(FAKE, "parse"))])

    assert refused.problems == ["orderflow patch 'thing.faster': declared more than once"]


def test_pins_are_read_from_requirements_and_constraints(tmp_path: Path) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("localstack-core[runtime]==2026.3.0\nservice_identity\n")
    constraints = tmp_path / "constraints.txt"
    constraints.write_text("# pins\ncbor2<6\nLocalStack_Twisted == 26.4.0  # patched\n")

    assert patches.read_pins([requirements, constraints]) == {
        "localstack-core": "2026.3.0",
        "localstack-twisted": "26.4.0",
    }


def test_every_distribution_a_patch_touches_is_pinned_in_the_emulator_files() -> None:
    pins = patches.read_pins()

    assert pins["localstack-core"] == "2026.3.0"
    for patch in registry.ALL:
        for distribution in patch.distributions:
            assert distribution in pins, f"{patch.name}: pin {distribution} in emulator/"


def test_the_registry_keeps_behaviour_fixes_apart_from_performance_hooks() -> None:
    names = [patch.name for patch in registry.ALL]

    assert len(names) == len(set(names))
    assert {patch.kind for patch in registry.BEHAVIOUR_FIXES} == {"behaviour"}
    assert {patch.kind for patch in registry.PERFORMANCE_HOOKS} == {"performance"}
    assert {patch.kind for patch in registry.KIT} == {"kit"}
    assert all(patch.targets for patch in registry.ALL)


def test_ctl_and_the_kit_agree_on_the_endpoint_and_the_settings_variable() -> None:
    # ctl.py runs before any virtualenv exists, so it cannot import the kit
    assert ctl.PATCHES_PATH == kit.PATCHES_PATH
    assert ctl.SETTINGS_VARIABLE == kit.SETTINGS_VARIABLE


def test_ctl_names_the_localstack_settings_it_passes() -> None:
    env = ctl.emulator_environment()

    named = env[ctl.SETTINGS_VARIABLE].split(",")
    assert "LAMBDA_EVENT_SOURCE_MAPPING_POLL_INTERVAL_SEC" in named
    assert "HOSTEXEC_PYTHON3_13" not in named  # the kit's own
    assert all(name in env for name in named)


def test_ctl_starts_dynamodb_local_with_c1_only_after_the_user_s_own_jvm_options(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(ctl.JAVA_LAUNCHER_OPTIONS, raising=False)
    assert ctl.emulator_environment()[ctl.JAVA_LAUNCHER_OPTIONS] == "-XX:TieredStopAtLevel=1"

    monkeypatch.setenv(ctl.JAVA_LAUNCHER_OPTIONS, "-Xss2m")
    env = ctl.emulator_environment()
    assert env[ctl.JAVA_LAUNCHER_OPTIONS] == "-Xss2m -XX:TieredStopAtLevel=1"
    assert ctl.JAVA_LAUNCHER_OPTIONS not in env[ctl.SETTINGS_VARIABLE].split(
        ","
    )  # not LocalStack's


def test_ctl_shows_the_refusal_from_the_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a log with an earlier run, then the kit's refusal (logged, then printed on exit)
    log = tmp_path / "localstack.log"
    earlier = "2026-12-01T00:00:00 INFO earlier run\n"
    line = "  orderflow patch 'gateway.content-type': twisted.web.http has no attribute X; ..."
    log.write_text(
        earlier
        + "ERROR --- orderflow_hostexec.startup : LocalStack is not what ...; refusing to start:\n"
        + f"{line}\nUpdate the patch ...\nLocalstack returning with exit code 3. Reason: ...\n"
        + f"{line}\n"
    )
    monkeypatch.setattr(ctl, "LOG_FILE", log)

    # When ctl.py explains why the emulator exited, then it shows each patch line once
    shown = ctl._explain_log(len(earlier)).splitlines()
    assert shown[0].startswith("the emulator refused to start")
    assert shown[1:] == [f"  {line.strip()}"]
