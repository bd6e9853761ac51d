"""The emulator kit's Step Functions time scale (emulator/hostexec/orderflow_hostexec/
time_scale.py): what a factor makes of each kind of wait, and the factors it refuses. How the
interpreter applies it is tested on the emulator (tests/integration/test_shipment_timeout.py)."""

from __future__ import annotations

from typing import Any

import pytest

from orderflow_hostexec import registry, time_scale
from orderflow_hostexec.time_scale import TIMEOUT_FLOOR_S, TimeScale, factor_from_environment


def test_real_time_by_default_changes_nothing() -> None:
    scale = TimeScale()

    assert scale.factor == 1.0
    assert scale.wait(60) == 60
    assert scale.timeout(60) == 60
    assert scale.timeout(0.5) == 0.5


def test_a_factor_scales_waits_and_retries_in_proportion() -> None:
    scale = TimeScale(0.05)

    assert scale.wait(60) == pytest.approx(3.0)
    assert scale.wait(0.4) == pytest.approx(0.02)  # a retry's jittered interval
    assert scale.wait(-3) == 0  # a Timestamp already past


def test_a_callback_timeout_is_scaled_but_not_below_the_floor() -> None:
    scale = TimeScale(0.01)

    assert scale.timeout(600) == pytest.approx(6.0)
    assert scale.timeout(60) == TIMEOUT_FLOOR_S  # 0.6 s would race the interpreter itself
    assert scale.timeout(0.5) == 0.5  # never longer than the definition says


def test_the_factor_changes_at_run_time() -> None:
    scale = TimeScale()

    assert scale.set(0.25) == 0.25
    assert scale.wait(8) == 2.0
    scale.set(1)
    assert scale.wait(8) == 8.0


@pytest.mark.parametrize(
    ("factor", "problem"),
    [
        (0, "must be in (0, 1]"),
        (-0.5, "must be in (0, 1]"),
        (2, "must be in (0, 1]"),
        ("0.1", "must be a number"),
        (None, "must be a number"),
        (True, "must be a number"),
    ],
)
def test_a_factor_outside_0_to_1_is_refused_saying_why(factor: Any, problem: str) -> None:
    scale = TimeScale(0.5)

    with pytest.raises(ValueError, match=problem.replace("(", r"\(").replace("]", r"\]")):
        scale.set(factor)
    assert scale.factor == 0.5  # unchanged


def test_the_start_factor_comes_from_the_environment() -> None:
    assert factor_from_environment({}) == 1.0
    assert factor_from_environment({time_scale.ENV_VARIABLE: " 0.1 "}) == 0.1
    with pytest.raises(ValueError, match=f"{time_scale.ENV_VARIABLE} must be a number"):
        factor_from_environment({time_scale.ENV_VARIABLE: "fast"})
    with pytest.raises(ValueError, match="must be in"):
        factor_from_environment({time_scale.ENV_VARIABLE: "5"})


def test_it_is_a_behaviour_patch_of_the_registry() -> None:
    [patch] = time_scale.PATCHES

    assert patch in registry.BEHAVIOUR_FIXES
    assert patch.kind == "behaviour"
    assert patch.apply is not None and patch.check is not None
    assert any("Timeout._eval_body" in str(target) for target in patch.targets)
