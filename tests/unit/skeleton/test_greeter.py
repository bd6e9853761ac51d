"""The Greet task of the greeting workflow."""

import pytest
from pydantic import ValidationError

from skeleton.handlers import greeter
from tests.unit.lambda_events import FakeLambdaContext, load_sample


def test_greets_by_name(lambda_context: FakeLambdaContext) -> None:
    # Given the workflow input {"name": "world"}
    state = load_sample("skeleton/greet.json")

    # When Step Functions invokes the task with it
    output = greeter.handler(state, lambda_context)

    # Then the task's output is the greeting
    assert output == {"greeting": "hello world"}


def test_input_without_name_fails_the_task(lambda_context: FakeLambdaContext) -> None:
    # Given an input without a name
    # When the task runs, then it fails (the execution fails with the error)
    with pytest.raises(ValidationError, match="name"):
        greeter.handler({"nom": "world"}, lambda_context)
