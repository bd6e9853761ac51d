"""The saga's waits and timeouts come from the deployment config (``infra/timeouts.py``):
the defaults in the template, a stage's override from its context, bad values refused."""

from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template
from pydantic import ValidationError

from infra.config import DeploymentConfig
from infra.timeouts import SagaTimeouts
from tests.infra.conftest import synth
from tests.infra.helpers import resources, state_machine_definition

FULFILMENT = "Fulfilment"


def config_from(context: dict[str, object]) -> DeploymentConfig:
    return DeploymentConfig.from_context(cdk.App(context=context).node)


def machine(template: Template) -> dict[str, Any]:
    [found] = resources(template, "AWS::StepFunctions::StateMachine", FULFILMENT).values()
    return dict(found)


def test_the_default_shipment_wait_is_60_s_without_a_heartbeat(template: Template) -> None:
    shipment = state_machine_definition(template, FULFILMENT)["States"]["ScheduleShipment"]

    assert shipment["TimeoutSeconds"] == 60
    assert "HeartbeatSeconds" not in shipment
    assert state_machine_definition(template, FULFILMENT)["TimeoutSeconds"] == 30 * 60


def test_a_stage_sets_the_shipment_wait_heartbeat_and_execution_timeout_from_context() -> None:
    # Given a stage whose context sets every saga timeout (as `cdk -c` hands it: a string)
    template = synth(
        **{
            "orderflow:sagaTimeouts": '{"shipment_seconds": 300, '
            '"shipment_heartbeat_seconds": 45, "execution_minutes": 90}'
        }
    )

    # Then the saga waits that long for the shipping worker, and runs at most that long
    definition = state_machine_definition(template, FULFILMENT)
    assert definition["States"]["ScheduleShipment"]["TimeoutSeconds"] == 300
    assert definition["States"]["ScheduleShipment"]["HeartbeatSeconds"] == 45
    assert definition["TimeoutSeconds"] == 90 * 60
    # the saga has no Wait state whose time could be configured
    assert {state["Type"] for state in definition["States"].values()} >= {"Task", "Succeed"}
    assert "Wait" not in {state["Type"] for state in definition["States"].values()}
    assert machine(template)["Properties"]["StateMachineType"] == "STANDARD"


def test_the_environment_sets_them_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORDERFLOW_SAGA_TIMEOUTS", '{"shipment_seconds": 120}')

    assert config_from({}).saga_timeouts == SagaTimeouts(shipment_seconds=120)
    # the context wins over the environment
    context: dict[str, object] = {"orderflow:sagaTimeouts": {"shipment_seconds": 90}}
    assert config_from(context).saga_timeouts.shipment_seconds == 90


@pytest.mark.parametrize(
    ("timeouts", "problem"),
    [
        ('{"shipment_seconds": 0}', "greater than or equal to 1"),
        ('{"shipment_seconds": 60, "shipment_heartbeat_seconds": 60}', "must be shorter"),
        ('{"shipment_seconds": 3600, "execution_minutes": 60}', "must outlast"),
        ('{"shipment_minutes": 5}', "Extra inputs are not permitted"),
        ('{"shipment_seconds": "soon"}', "valid integer"),
    ],
)
def test_bad_timeouts_are_refused_saying_why(timeouts: str, problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        config_from({"orderflow:sagaTimeouts": timeouts})
