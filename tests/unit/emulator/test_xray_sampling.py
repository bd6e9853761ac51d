"""Sampling as AWS does it (orderflow_hostexec/xray/sampling.py), decided with an injected
clock and random source, and where the decision is made (hooks.py: made once, then kept)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from orderflow_hostexec.xray.header import TraceHeader
from orderflow_hostexec.xray.hooks import decide
from orderflow_hostexec.xray.sampling import (
    MATCH_FIELDS,
    RuleLimitExceeded,
    SampledRequest,
    Sampler,
    SamplingError,
    wildcard_match,
)

STAGE = SampledRequest(
    service_name="orderflow-dev-api/prod",
    service_type="AWS::ApiGateway::Stage",
    host="127.0.0.1:4566",
    http_method="POST",
    url_path="/prod/orders",
    resource_arn="arn:aws:apigateway:us-east-1::/restapis/abc/stages/prod",
)
FUNCTION = SampledRequest(
    service_name="RelayFunction", service_type="AWS::Lambda::Function", resource_arn="arn:fn"
)


class Clock:
    def __init__(self, now: float = 1_796_110_858.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def draws(*values: float) -> Iterator[float]:
    yield from values


def sampler(clock: Clock, randoms: Iterator[float]) -> Sampler:
    return Sampler(clock=clock, random=lambda: next(randoms))


def rule(name: str = "orderflow-dev-all", **fields: Any) -> dict[str, Any]:
    """The dev stage's "trace everything" rule (the app's CDK deploys it)."""
    return {
        "RuleName": name,
        "Priority": 100,
        "FixedRate": 1.0,
        "ReservoirSize": 1,
        **dict.fromkeys(MATCH_FIELDS, "*"),
        "Version": 1,
        **fields,
    }


def test_the_default_rule_samples_one_request_a_second_then_five_percent() -> None:
    clock = Clock()
    # the reservoir's request draws nothing; then 0.04 < 5% is sampled, 0.06 is not
    decisions = sampler(clock, draws(0.04, 0.06, 0.5))
    assert [decisions.decide(STAGE) for _ in range(4)] == [True, True, False, False]
    clock.now += 1  # a new second, a new reservoir
    assert decisions.decide(STAGE) is True


def test_the_default_rule_is_reservoir_1_and_rate_5_percent() -> None:
    [record] = Sampler().records()
    default = record["SamplingRule"]
    assert (default["RuleName"], default["ReservoirSize"], default["FixedRate"]) == (
        "Default",
        1,
        0.05,
    )
    assert default["Priority"] == 10_000
    assert all(default[name] == "*" for name in MATCH_FIELDS)


def test_the_dev_rule_traces_everything() -> None:
    decisions = sampler(Clock(), draws(*[0.99] * 50))
    decisions.create(rule())
    assert all(decisions.decide(STAGE) for _ in range(50))


def test_rules_are_evaluated_by_priority_the_first_match_decides() -> None:
    decisions = sampler(Clock(), draws(*[0.5] * 10))
    decisions.create(
        rule(
            "none-for-stages",
            Priority=10,
            FixedRate=0.0,
            ReservoirSize=0,
            ServiceType="AWS::ApiGateway::Stage",
        )
    )
    decisions.create(rule("all", Priority=20))
    assert decisions.rule_for(STAGE).name == "none-for-stages"
    assert decisions.decide(STAGE) is False
    assert decisions.rule_for(FUNCTION).name == "all"
    assert decisions.decide(FUNCTION) is True


def test_a_field_the_request_lacks_matches_only_a_wildcard() -> None:
    decisions = Sampler()
    decisions.create(rule("posts", HTTPMethod="POST"))
    assert decisions.rule_for(STAGE).name == "posts"
    assert decisions.rule_for(FUNCTION).name == "Default"  # a function has no HTTP method


@pytest.mark.parametrize(
    ("glob", "value", "expected"),
    [
        ("*", "", True),
        ("/prod/*", "/prod/orders", True),
        ("/prod/?rders", "/prod/orders", True),
        ("/PROD/*", "/prod/orders", True),
        ("/dev/*", "/prod/orders", False),
        ("orders", "", False),
        ("a.b", "axb", False),
    ],
)
def test_wildcards_are_star_and_question_mark(glob: str, value: str, expected: bool) -> None:
    assert wildcard_match(glob, value) is expected


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"FixedRate": 1.5}, "FixedRate"),
        ({"ReservoirSize": -1}, "ReservoirSize"),
        ({"Priority": 0}, "Priority"),
        ({"Version": 2}, "Version"),
        ({"URLPath": ""}, "URLPath is required"),
        ({"RuleName": "has spaces"}, "RuleName"),
    ],
)
def test_an_invalid_rule_is_refused(fields: dict[str, Any], reason: str) -> None:
    with pytest.raises(SamplingError, match=reason):
        Sampler().create(rule(**fields))


def test_rules_are_created_updated_and_deleted_by_name_or_arn() -> None:
    decisions = Sampler()
    created = decisions.create(rule())["SamplingRule"]
    assert created["RuleARN"].endswith(":sampling-rule/orderflow-dev-all")
    with pytest.raises(SamplingError, match="already exists"):
        decisions.create(rule())
    updated = decisions.update({"RuleARN": created["RuleARN"], "FixedRate": 0.5})
    assert updated["SamplingRule"]["FixedRate"] == 0.5
    assert [r["SamplingRule"]["RuleName"] for r in decisions.records()] == [
        "orderflow-dev-all",
        "Default",
    ]
    decisions.delete("orderflow-dev-all", None)
    with pytest.raises(SamplingError, match="does not exist"):
        decisions.delete("orderflow-dev-all", None)
    with pytest.raises(SamplingError, match="cannot be deleted"):
        decisions.delete("Default", None)


def test_the_default_rule_can_be_updated() -> None:
    decisions = sampler(Clock(), draws(0.5))
    decisions.update({"RuleName": "Default", "FixedRate": 1.0, "ReservoirSize": 0})
    assert decisions.decide(STAGE) is True


def test_an_account_holds_at_most_25_rules() -> None:
    decisions = Sampler()
    for n in range(24):
        decisions.create(rule(f"r{n}"))
    with pytest.raises(RuleLimitExceeded):
        decisions.create(rule("one-too-many"))


def test_sampling_targets_give_each_reported_rule_its_rate_and_reservoir() -> None:
    decisions = Sampler(clock=Clock())
    decisions.create(rule())
    targets, unprocessed = decisions.targets(
        [{"RuleName": "orderflow-dev-all", "ClientID": "c", "RequestCount": 3}, {"RuleName": "x"}]
    )
    assert [(t["RuleName"], t["FixedRate"], t["ReservoirQuota"]) for t in targets] == [
        ("orderflow-dev-all", 1.0, 1)
    ]
    assert targets[0]["Interval"] == 10
    assert [u["RuleName"] for u in unprocessed] == ["x"]


def test_the_decision_is_made_once_where_the_trace_starts_and_then_kept(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    never = Sampler(clock=Clock(), random=lambda: 0.99)
    never.update({"RuleName": "Default", "ReservoirSize": 0})
    monkeypatch.setattr("orderflow_hostexec.xray.hooks.SAMPLER", never)
    upstream = TraceHeader.parse(
        "Root=1-6b0e7a0a-3e0e1bcc696cabec6f9fe8ea;Parent=" + "a" * 16 + ";Sampled=1"
    )
    assert decide(upstream, FUNCTION) == upstream  # downstream never decides again
    fresh = decide(TraceHeader(), FUNCTION)  # no header: this service starts the trace
    assert fresh.root and fresh.sampled == "0"
    undecided = decide(TraceHeader.parse(f"Root={upstream.root};Sampled=?"), FUNCTION)
    assert (undecided.root, undecided.sampled) == (upstream.root, "0")
