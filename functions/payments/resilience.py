"""The circuit breaker in front of the payment provider, built once per execution environment,
and what it reports: each transition is logged once (by the caller that made it) with the counts
that caused it, and counted as a metric with the dependency as a dimension.

| metric              | when                                                        |
|---------------------|-------------------------------------------------------------|
| `BreakerOpened`     | CLOSED -> OPEN (threshold reached) or HALF_OPEN -> OPEN (probe failed) |
| `BreakerHalfOpened` | a probe was let through (cool-down over, or a probe's lease expired)   |
| `BreakerClosed`     | HALF_OPEN -> CLOSED (the probe succeeded)                   |
| `BreakerRejected`   | a call failed fast without reaching the dependency          |
| `BreakerContended`  | a caller gave up after its compare-and-sets kept losing     |

`BreakerOpen` is the breaker's state as a gauge, sampled at every transition and every rejected
call: 1 while OPEN, 0 otherwise (the `payment-breaker-open` alarm reads its Maximum).
"""

import time
from functools import cache

from aws_lambda_powertools.metrics import MetricUnit, single_metric

from payments.dal import get_breaker_store, get_provider
from payments.logic.authorization import GuardedProvider
from payments.logic.breaker import BreakerPolicy, CircuitBreaker, Transition
from payments.models import BreakerRecord, BreakerState
from payments.settings import get_settings
from shared_kernel.observability import METRICS_NAMESPACE, logger

PROVIDER_DEPENDENCY = "payment-provider"
"""The breaker's name for the provider (its item is ``BREAKER#payment-provider``)."""

METRIC_BY_STATE = {
    BreakerState.OPEN: "BreakerOpened",
    BreakerState.HALF_OPEN: "BreakerHalfOpened",
    BreakerState.CLOSED: "BreakerClosed",
}


STATE_METRIC = "BreakerOpen"


def state(record: BreakerRecord, dependency: str) -> None:
    """The breaker's state as a gauge: 1 while OPEN, 0 otherwise (HALF_OPEN lets a probe
    through). Transitions alone say when it opened, not whether it still is; an alarm on the
    gauge's Maximum says the breaker was open in the period."""
    with single_metric(
        name=STATE_METRIC,
        unit=MetricUnit.Count,
        value=1 if record.state is BreakerState.OPEN else 0,
        namespace=METRICS_NAMESPACE,
    ) as metric:
        metric.add_dimension(name="dependency", value=dependency)


def count(name: str, dependency: str) -> None:
    """One metric of its own, with the dependency as a dimension (the handler's metrics carry
    none, so they are not mixed)."""
    with single_metric(
        name=name, unit=MetricUnit.Count, value=1, namespace=METRICS_NAMESPACE
    ) as metric:
        metric.add_dimension(name="dependency", value=dependency)


class LoggingBreakerObserver:
    """``BreakerObserver``: logs and metrics."""

    def transitioned(self, transition: Transition) -> None:
        before, after = transition.before, transition.after
        logger.warning(
            f"circuit breaker {before.state} -> {after.state}: {transition.cause}",
            extra={
                "dependency": transition.dependency,
                "breaker_from": before.state.value,
                "breaker_to": after.state.value,
                "cause": transition.cause,
                "failures": after.failures,
                "window_started": after.window_started,
                "opened_at": after.opened_at,
                "probe_until": after.probe_until,
                "opens": after.opens,
                "probes": after.probes,
                "version": after.version,
            },
        )
        count(METRIC_BY_STATE[after.state], transition.dependency)
        state(after, transition.dependency)

    def rejected(self, dependency: str, record: BreakerRecord) -> None:
        logger.info(
            "circuit breaker open: failing fast",
            extra={"dependency": dependency, "breaker_state": record.state.value},
        )
        count("BreakerRejected", dependency)
        state(record, dependency)

    def contended(self, dependency: str, what: str) -> None:
        logger.warning(
            "circuit breaker: gave up after losing every compare-and-set, or a stale probe",
            extra={"dependency": dependency, "what": what},
        )
        count("BreakerContended", dependency)


@cache
def get_breaker() -> CircuitBreaker:
    settings = get_settings()
    policy = BreakerPolicy(
        failure_threshold=settings.breaker_failure_threshold,
        window_seconds=settings.breaker_window_seconds,
        cooldown_seconds=settings.breaker_cooldown_seconds,
        probe_lease_seconds=settings.breaker_probe_lease_seconds,
    )
    return CircuitBreaker(
        PROVIDER_DEPENDENCY, policy, get_breaker_store(), LoggingBreakerObserver(), clock=time.time
    )


@cache
def get_guarded_provider() -> GuardedProvider:
    """The provider behind its breaker: what AuthorizePayment calls."""
    return GuardedProvider(get_provider(), get_breaker())


def reset() -> None:
    """Forget the breaker and the guarded provider (tests change the environment)."""
    get_breaker.cache_clear()
    get_guarded_provider.cache_clear()
