"""One mechanism for everything the kit changes in, or relies on inside, LocalStack.

Each change is a ``Patch``: a name, what it is for, the ``Target`` objects it replaces or
relies on (module, attribute path, what kind of object, the parameters it must take), the
distributions those targets come from, and an ``apply`` function (``None`` for something the
kit only relies on). At emulator start (``startup.py``, LocalStack's ``on_infra_start``) every
declared patch is checked first, then every patch is applied; if any target is missing or has
another shape, or an installed distribution differs from its pin, nothing is applied and
LocalStack refuses to start with one line per problem, naming the patch:

    orderflow patch 'stepfunctions.jsonpath-memo': localstack.services.stepfunctions.asl.utils.
    json_path has no attribute parse; pinned localstack-core 2026.3.0, found 2026.4.0

The pins are read from emulator/requirements.txt and emulator/constraints.txt (``name==version``
lines), the files the emulator's virtualenv is installed from, so they are stated once.

Standard library only: the unit tests (tests/unit/emulator) drive it without LocalStack.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import inspect
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

Kind = Literal["behaviour", "performance", "kit"]
Shape = Literal["callable", "class", "object"]

EMULATOR_DIR = Path(__file__).resolve().parents[2]
PIN_FILES = (EMULATOR_DIR / "requirements.txt", EMULATOR_DIR / "constraints.txt")
LOCALSTACK = "localstack-core"


class PatchRefused(RuntimeError):
    """LocalStack is not what a patch was written for: the emulator must not start."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__(
            "LocalStack is not what the orderflow emulator kit was written for; refusing to "
            "start:\n"
            + "\n".join(f"  {problem}" for problem in self.problems)
            + "\nUpdate the patch, or the pin (emulator/requirements.txt, constraints.txt): "
            "see emulator/README.md."
        )


@dataclass(frozen=True)
class Target:
    """Something in an installed package that a patch replaces or relies on."""

    module: str
    attribute: str = ""  # dotted path inside the module; "" is the module itself
    shape: Shape = "callable"
    parameters: tuple[str, ...] | None = None  # exact parameter names; None: not checked

    def __str__(self) -> str:
        return f"{self.module}.{self.attribute}" if self.attribute else self.module

    def resolve(self) -> Any:
        """The target object; raises ``LookupError`` saying what is missing."""
        try:
            found: Any = importlib.import_module(self.module)
        except ImportError as error:
            raise LookupError(f"cannot import {self.module} ({error})") from error
        where = self.module
        for part in filter(None, self.attribute.split(".")):
            if not hasattr(found, part):
                raise LookupError(f"{where} has no attribute {part}")
            found = getattr(found, part)
            where = f"{where}.{part}"
        return found

    def mismatch(self) -> str | None:
        """What differs from the expected shape, or None."""
        try:
            found = self.resolve()
        except LookupError as error:
            return str(error)
        if self.shape == "class" and not inspect.isclass(found):
            return f"{self} is not a class (found {type(found).__name__})"
        if self.shape == "callable" and not callable(found):
            return f"{self} is not callable (found {type(found).__name__})"
        if self.parameters is not None:
            try:
                names = tuple(inspect.signature(found).parameters)
            except (TypeError, ValueError) as error:
                return f"{self} has no signature to check ({error})"
            if names != self.parameters:
                return f"{self} takes ({', '.join(names)}), expected ({', '.join(self.parameters)})"
        return None


@dataclass(frozen=True)
class Patch:
    """A change to LocalStack (or to a library it runs on), or something the kit relies on."""

    name: str  # "<module>.<what>", as it appears in errors and in the report
    kind: Kind
    purpose: str  # one line, for the report and emulator/README.md
    targets: tuple[Target, ...]
    apply: Callable[[], None] | None = None  # None: nothing to apply, only checked
    distributions: tuple[str, ...] = (LOCALSTACK,)  # whose pinned versions the targets are from
    check: Callable[[], str | None] | None = None  # further expectations: a problem, or None

    def report(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "purpose": self.purpose,
            "targets": [str(target) for target in self.targets],
            "status": "applied" if self.apply else "verified",
        }


_PIN = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?\s*==\s*([^\s;#]+)")


def read_pins(files: Iterable[Path] = PIN_FILES) -> dict[str, str]:
    """``name==version`` pins of the given requirements/constraints files, by normalised name."""
    pins: dict[str, str] = {}
    for file in files:
        for line in file.read_text().splitlines():
            if match := _PIN.match(line):
                pins[_normalise(match[1])] = match[2]
    return pins


def installed_version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def problems(
    patches: Sequence[Patch],
    pins: Mapping[str, str],
    installed: Callable[[str], str | None] = installed_version,
) -> list[str]:
    """Every way the installed packages differ from what ``patches`` expect, one line each."""
    found: list[str] = []
    names = [patch.name for patch in patches]
    for name in sorted({name for name in names if names.count(name) > 1}):
        found.append(f"orderflow patch '{name}': declared more than once")
    for patch in patches:
        differs, versions = _versions(patch, pins, installed)
        issues = [issue for target in patch.targets if (issue := target.mismatch())]
        if patch.check and not issues:
            try:
                extra = patch.check()
            except Exception as error:
                extra = f"its check failed: {type(error).__name__}: {error}"
            if extra:
                issues.append(extra)
        if differs and not issues:
            issues.append("not written for the installed version")
        found += [f"orderflow patch '{patch.name}': {issue}; {versions}" for issue in issues]
    return found


def _versions(
    patch: Patch, pins: Mapping[str, str], installed: Callable[[str], str | None]
) -> tuple[bool, str]:
    """Whether an installed distribution of the patch differs from its pin, and the versions
    to show: those that differ, else all of them."""
    same: list[str] = []
    different: list[str] = []
    for distribution in patch.distributions:
        pinned = pins.get(_normalise(distribution))
        actual = installed(distribution)
        line = f"pinned {distribution} {pinned or '(no == pin)'}, found {actual}"
        (same if pinned is not None and actual == pinned else different).append(line)
    return bool(different), "; ".join(different or same)


_APPLIED: list[dict[str, Any]] = []


def start(
    patches: Sequence[Patch],
    pins: Mapping[str, str] | None = None,
    installed: Callable[[str], str | None] = installed_version,
) -> list[dict[str, Any]]:
    """Check every patch, then apply every patch; raise ``PatchRefused`` on any problem.

    Returns the report (also served by ``applied()``): one entry per patch, ``applied`` or,
    for what is only relied on, ``verified``.
    """
    found = problems(patches, read_pins() if pins is None else pins, installed)
    if found:
        raise PatchRefused(found)
    report = []
    for patch in patches:
        if patch.apply:
            try:
                patch.apply()
            except Exception as error:
                problem = f"failed to apply: {type(error).__name__}: {error}"
                raise PatchRefused([f"orderflow patch '{patch.name}': {problem}"]) from error
        report.append(patch.report())
    _APPLIED[:] = report
    return report


def applied() -> list[dict[str, Any]]:
    """What ``start`` applied in this process (empty before it ran)."""
    return list(_APPLIED)


def provider_installed(service: str, entry_point: str) -> Callable[[], str | None]:
    """A ``Patch.check``: the kit's provider of ``service`` (a service LocalStack's core lacks)
    is the installed ``localstack.aws.provider`` entry point ``<service>:default``."""

    def check() -> str | None:
        found = importlib.metadata.entry_points(
            group="localstack.aws.provider", name=f"{service}:default"
        )
        if not found or next(iter(found)).value != entry_point:
            return (
                f"the entry point localstack.aws.provider {service}:default is not installed "
                "(reinstall the kit: make install)"
            )
        return None

    return check
