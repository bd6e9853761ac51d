"""Tracing settings of a stage (``DeploymentConfig.tracing``) and the sampling rule they deploy.

Every function, the API stage and the state machine have X-Ray tracing on (``ServiceFunction``,
``infra/api.py``, ``infra/saga.py``); what is *kept* is X-Ray's sampling decision, made once
where a trace starts (API Gateway for ``POST /orders``) and carried in the trace header to every
later hop (``Sampled=1|0``), so an order is traced whole or not at all.

- ``sample_everything`` off (staging, prod): AWS's default rule applies, the first request each
  second and 5% of the rest (per account and region), which keeps the cost of X-Ray bounded
  under load while every quiet period is still traced.
- on (dev, the emulator's stage): the stack deploys ``orderflow-<stage>-all``, a rule matching
  every request with a reservoir of one a second and a fixed rate of 100%, at priority 100
  (before the default rule, whose priority is the lowest, 10000): every order is traced, which
  is what a developer following one order, and the integration tests, need.

Context ``orderflow:tracing`` (or ``ORDERFLOW_TRACING``) takes a JSON object, e.g.
``cdk deploy -c orderflow:stage=staging -c orderflow:tracing='{"sample_everything": true}'``
to trace everything on staging for a while. Docs: docs/observability.md.
"""

from typing import Any

from aws_cdk import aws_xray as xray
from constructs import Construct

from infra.sections import ConfigSection

DEV_STAGE = "dev"
SAMPLE_EVERYTHING_PRIORITY = 100
"""Before AWS's default rule (priority 10000, the lowest) and any rule added later at 1000+."""


class TracingConfig(ConfigSection):
    """Which requests X-Ray traces (see the module doc)."""

    sample_everything: bool = False
    """Deploy a sampling rule that traces every request (dev's default; AWS's default rule,
    1/s + 5%, on every other stage)."""

    @classmethod
    def stage_defaults(cls, stage: str) -> dict[str, Any]:
        return {"sample_everything": True} if stage == DEV_STAGE else {}


RULE_NAME_MAX = 32
"""X-Ray's limit on a sampling rule's name."""


def sampling_rule_name(stage: str) -> str:
    """``orderflow-<stage>-all``; a stage of more than 18 characters makes it longer than X-Ray
    accepts, which is refused here (at synth) rather than by CloudFormation."""
    name = f"orderflow-{stage}-all"
    if len(name) > RULE_NAME_MAX:
        raise ValueError(
            f"sampling rule name {name!r} is longer than {RULE_NAME_MAX} characters: use a "
            "shorter stage, or turn tracing.sample_everything off"
        )
    return name


class TracingSampling(Construct):
    """The stage's X-Ray sampling rule, when ``sample_everything`` is on.

    Attributes:
        rule: the ``AWS::XRay::SamplingRule`` (None: AWS's default rule applies).
    """

    def __init__(self, scope: Construct, id: str, *, stage: str, config: TracingConfig) -> None:
        super().__init__(scope, id)
        self.rule: xray.CfnSamplingRule | None = None
        if not config.sample_everything:
            return
        self.rule = xray.CfnSamplingRule(
            self,
            "SampleEverything",
            sampling_rule=xray.CfnSamplingRule.SamplingRuleProperty(
                rule_name=sampling_rule_name(stage),
                priority=SAMPLE_EVERYTHING_PRIORITY,
                fixed_rate=1.0,
                reservoir_size=1,
                service_name="*",
                service_type="*",
                host="*",
                http_method="*",
                url_path="*",
                resource_arn="*",
                version=1,
            ),
        )
