"""The media type of a Content-Type header, as ``email.message.EmailMessage`` would give it.

twisted.web derives it that way for every request it receives (to spot form posts), and
building an ``EmailMessage`` for it was 12.6% of the emulator's CPU in a py-spy profile of
``bench/orders.py``. Standard library only, so the unit tests check it against the original.
"""

from __future__ import annotations

DEFAULT = b"text/plain"


def media_type(header: bytes) -> bytes:
    """The part before any parameters, stripped and lowercased; ``text/plain`` unless it has
    exactly one ``/`` (what ``Message.get_content_type`` does, quirks included)."""
    value = header.split(b";", 1)[0].strip().lower()
    return value if value.count(b"/") == 1 else DEFAULT
