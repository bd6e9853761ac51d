"""Processing jobs from the work queue."""

from skeleton.dal import SkeletonRepository
from skeleton.models import JobMessage


class JobFailedError(Exception):
    """The job asked to fail; its message is retried, then dead-lettered."""

    def __init__(self, job_id: str) -> None:
        super().__init__(f"job {job_id} failed on request")
        self.job_id = job_id


def process_job(job: JobMessage, repository: SkeletonRepository) -> None:
    """Records the job as done, or raises ``JobFailedError`` if it is marked ``fail``."""
    if job.fail:
        raise JobFailedError(job.id)
    repository.put_job(job)
