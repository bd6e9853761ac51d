"""The ``orderflow`` console script: global options, then one module per command group."""

from pathlib import Path
from typing import Annotated

import typer
from botocore.exceptions import EndpointConnectionError, NoCredentialsError, NoRegionError

from orderflow_cli import (
    alerts,
    chaos,
    dashboard,
    dead_letters,
    logs,
    replay,
    tokens,
    trace,
    webhooks,
)
from orderflow_cli.stack import (
    DEFAULT_OUTPUTS,
    DEFAULT_STACK,
    OUTPUTS_ENV,
    STACK_ENV,
    StackRef,
    print_error,
)

app = typer.Typer(
    name="orderflow",
    help="Operate an orderflow deployment: dead letters, redrive, replay, chaos, traces, logs, "
    "alerts, dashboard, webhooks, customer tokens.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def main(
    ctx: typer.Context,
    outputs: Annotated[
        Path,
        typer.Option(
            "--outputs",
            envvar=OUTPUTS_ENV,
            help="The stack outputs `make deploy` wrote (cdk deploy --outputs-file).",
        ),
    ] = DEFAULT_OUTPUTS,
    stack: Annotated[
        str, typer.Option("--stack", envvar=STACK_ENV, help="The stack in the outputs file.")
    ] = DEFAULT_STACK,
) -> None:
    """The endpoint is AWS_ENDPOINT_URL when set (the emulator), else AWS."""
    ctx.obj = StackRef(outputs_file=outputs, name=stack)


dead_letters.register(app)
replay.register(app)
chaos.register(app)
dashboard.register(app)
# observability: an order's trace and its log lines
trace.register(app)
logs.register(app)
alerts.register(app)
# outgoing webhooks: a subscription's attempts, a message redelivered
webhooks.register(app)
# customer identity: tokens minted with the dev stage's signing key
tokens.register(app)


def run() -> None:
    """The console script: the commands, with a missing AWS setup or an endpoint that does not
    answer said in one line (exit 2) rather than as a traceback."""
    try:
        app()
    except (NoCredentialsError, NoRegionError) as error:
        print_error(
            f"{error}: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (`test` and `test` for "
            "the emulator) or AWS_PROFILE, and AWS_DEFAULT_REGION"
        )
        raise SystemExit(2) from None
    except EndpointConnectionError as error:
        print_error(
            f"{error}: for the emulator, start it (`make up`) and set AWS_ENDPOINT_URL "
            "(http://127.0.0.1:4566 by default); without it the CLI talks to AWS"
        )
        raise SystemExit(2) from None
