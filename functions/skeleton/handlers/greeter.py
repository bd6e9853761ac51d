"""The ``Greet`` task of the greeting workflow (invoked by Step Functions)."""

from typing import Any

from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from common.observability import logger, tracer
from skeleton.logic import greetings
from skeleton.models import GreetRequest


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@event_parser(model=GreetRequest)
def handler(event: GreetRequest, context: LambdaContext) -> dict[str, Any]:
    return greetings.greet(event).model_dump()
