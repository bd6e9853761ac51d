"""The work queue consumer: partial batch failures, one record at a time."""

import json

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from skeleton.handlers import worker
from tests.unit.lambda_events import FakeLambdaContext, sample_text, sqs_event
from tests.unit.skeleton.conftest import Stored


def test_failing_message_is_reported_and_good_one_written(
    lambda_context: FakeLambdaContext, stored: Stored
) -> None:
    # Given a batch with a good job and a job that asks to fail
    event = sqs_event(sample_text("skeleton/job.json"), sample_text("skeleton/failing_job.json"))
    good, failing = event["Records"]

    # When the worker processes the batch
    response = worker.handler(event, lambda_context)

    # Then only the failing message is reported, so SQS redelivers just that one ...
    assert response == {"batchItemFailures": [{"itemIdentifier": failing["messageId"]}]}
    # ... and only the good job is recorded
    assert stored(f"job#{json.loads(good['body'])['id']}") is not None
    assert stored(f"job#{json.loads(failing['body'])['id']}") is None


def test_unparseable_message_is_reported_as_failed(
    lambda_context: FakeLambdaContext, stored: Stored
) -> None:
    # Given a batch with a good job and a body that is not a job
    event = sqs_event('{"id": "ok-1"}', "not json at all")

    # When the worker processes it
    response = worker.handler(event, lambda_context)

    # Then the unparseable message is reported and the good one written
    assert response["batchItemFailures"] == [{"itemIdentifier": event["Records"][1]["messageId"]}]
    assert stored("job#ok-1") is not None


def test_batch_of_good_jobs_reports_no_failure(
    lambda_context: FakeLambdaContext, stored: Stored
) -> None:
    # Given three good jobs
    event = sqs_event(*(json.dumps({"id": f"job-{n}"}) for n in range(3)))

    # When the worker processes them
    response = worker.handler(event, lambda_context)

    # Then nothing is reported and every job is recorded
    assert response == {"batchItemFailures": []}
    assert all(stored(f"job#job-{n}") is not None for n in range(3))


@pytest.mark.usefixtures("table")
def test_batch_where_every_job_fails_fails_the_invocation(
    lambda_context: FakeLambdaContext,
) -> None:
    # Given a batch in which every job fails
    event = sqs_event(sample_text("skeleton/failing_job.json"))

    # When the worker processes it, then the whole invocation fails (the batch is retried)
    with pytest.raises(BatchProcessingError):
        worker.handler(event, lambda_context)
