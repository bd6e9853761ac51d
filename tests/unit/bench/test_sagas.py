"""The saga benchmark's pure parts: batching, timestamps, the span of a burst, the process tree
and its CPU accounting (bench/sagas.py, bench/cpu.py)."""

import json
from datetime import UTC, datetime

import pytest

from bench.cpu import ROOT_GROUP, WORKERS_GROUP, tree_of, tree_used
from bench.sagas import (
    Saga,
    Stack,
    apply_order_item,
    batches,
    burst_span,
    count_statuses,
    epoch,
    history_gaps,
    new_saga,
    parse_args,
)


def test_batches_split_into_calls_of_at_most_the_limit() -> None:
    assert batches(list(range(25)), 10) == [
        list(range(10)),
        list(range(10, 20)),
        [20, 21, 22, 23, 24],
    ]
    assert batches([], 10) == []
    with pytest.raises(ValueError, match="at least 1"):
        batches([1], 0)


def test_a_new_saga_orders_one_unit_of_the_sku_on_the_bus_with_a_fresh_order_id() -> None:
    first, second = new_saga("bus-x", "SKU-B"), new_saga("bus-x", "SKU-B")

    detail = json.loads(first.entry["Detail"])
    assert first.order_id != second.order_id
    assert detail["subject"] == detail["data"]["orderId"] == first.order_id
    assert detail["data"]["items"] == [{"sku": "SKU-B", "quantity": 1, "unitPrice": "12.50"}]
    assert detail["data"]["total"] == "12.50"
    assert detail["data"]["paymentToken"] == "tok_ok"
    assert first.entry["EventBusName"] == "bus-x"
    assert first.entry["DetailType"] == "OrderPlaced"


def test_epoch_reads_datetimes_and_iso_strings_alike() -> None:
    moment = datetime(2026, 12, 1, 13, 0, 0, 250000, tzinfo=UTC)
    assert epoch(moment) == epoch("2026-12-01T13:00:00.250000+00:00") == moment.timestamp()


def test_the_settled_time_is_taken_only_once_the_order_is_terminal() -> None:
    saga = Saga("o-1", {})
    pending = {"status": {"S": "PENDING"}, "updatedAt": {"S": "2026-12-01T13:00:00+00:00"}}
    apply_order_item(saga, {**pending, "sagaExecution": {"S": "arn:exec"}})
    assert (saga.status, saga.execution) == ("PENDING", "arn:exec")
    assert saga.settled_at != saga.settled_at  # still NaN

    apply_order_item(saga, {**pending, "status": {"S": "CONFIRMED"}})
    assert saga.status == "CONFIRMED"
    assert saga.settled_at == epoch("2026-12-01T13:00:00+00:00")
    assert saga.execution == "arn:exec"  # kept when an item does not carry it


def test_a_burst_spans_from_the_first_put_to_the_last_stop() -> None:
    sagas = [
        Saga("a", {}, put_at=10.0, stopped_at=12.0),
        Saga("b", {}, put_at=10.2, stopped_at=15.5),
    ]
    assert burst_span(sagas) == pytest.approx(5.5)


def test_outcomes_count_order_and_execution_status_together() -> None:
    sagas = [Saga("a", {}, status="CONFIRMED", execution_status="SUCCEEDED")] * 2
    sagas += [Saga("b", {}, status="CANCELLED", execution_status="SUCCEEDED")]
    assert count_statuses(sagas) == {"CANCELLED/SUCCEEDED": 1, "CONFIRMED/SUCCEEDED": 2}


def test_a_stack_without_the_outputs_is_refused_by_name() -> None:
    with pytest.raises(SystemExit, match="SagaStateMachineArn"):
        Stack.from_outputs(
            {"BusName": "b", "OrdersTableName": "t", "SeedProductsFunctionName": "f"}
        )


def test_negative_counts_and_non_positive_polls_are_refused() -> None:
    with pytest.raises(SystemExit):
        parse_args(["--one", "-1"])
    with pytest.raises(SystemExit):
        parse_args(["--poll", "0"])
    assert parse_args(["--at-once", "40", "--pid", "7"]).at_once == 40


def test_the_tree_holds_the_root_and_its_descendants_only() -> None:
    parents = {1: 0, 10: 1, 11: 10, 12: 10, 13: 12, 20: 1, 21: 20}
    assert tree_of(10, parents) == {10, 11, 12, 13}
    assert tree_of(13, parents) == {13}


def test_cpu_of_a_tree_counts_what_ended_meanwhile_once() -> None:
    # a worker (pid 3) used 1.0 s before the run and 0.5 s during it, then ended and was reaped:
    # the root's reaped-children time grew by all of its 1.5 s
    before = {1: (ROOT_GROUP, 10.0), 3: (WORKERS_GROUP, 1.0), 4: (WORKERS_GROUP, 2.0)}
    after = {1: (ROOT_GROUP, 10.0 + 0.2 + 1.5), 4: (WORKERS_GROUP, 2.3), 5: (WORKERS_GROUP, 0.4)}

    used = tree_used(before, after)

    assert used[ROOT_GROUP] + used[WORKERS_GROUP] == pytest.approx(0.2 + 0.5 + 0.3 + 0.4)


def test_history_gaps_name_each_wait_by_its_state_and_sum_retries() -> None:
    events = [
        {"type": "ExecutionStarted", "timestamp": 100.10},
        {
            "type": "TaskStateEntered",
            "timestamp": 100.11,
            "stateEnteredEventDetails": {"name": "A"},
        },
        {"type": "LambdaFunctionStarted", "timestamp": 100.12},
        {"type": "LambdaFunctionFailed", "timestamp": 100.22},
        {"type": "LambdaFunctionStarted", "timestamp": 100.52},
        {"type": "LambdaFunctionFailed", "timestamp": 100.62},
        {"type": "ExecutionSucceeded", "timestamp": 100.70},
    ]

    gaps = history_gaps(100.0, 100.04, events)

    assert gaps["rule: PutEvents -> StartExecution (startDate)"] == pytest.approx(0.04)
    assert gaps["rule: StartExecution (startDate) -> ExecutionStarted"] == pytest.approx(0.06)
    assert gaps["A: LambdaFunctionStarted -> LambdaFunctionFailed"] == pytest.approx(0.20)
    assert gaps["A: LambdaFunctionFailed -> LambdaFunctionStarted"] == pytest.approx(0.30)
    assert sum(gaps.values()) == pytest.approx(0.70)
