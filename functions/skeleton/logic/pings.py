"""Recording ``PingSent`` events."""

from skeleton.dal import SkeletonRepository
from skeleton.models import Ping, PingSentEvent


def record_ping(event: PingSentEvent, repository: SkeletonRepository) -> Ping:
    """Stores the event under its id, so a redelivered event overwrites its own record."""
    ping = Ping(
        event_id=event.id,
        source=event.source,
        detail_type=event.detail_type,
        message=event.detail.message,
        sent_at=event.time,
    )
    repository.put_ping(ping)
    return ping
