"""Two costs the gateway's HTTP server (twisted.web) pays on every request, made cheap.

Both were at the top of a py-spy ``--gil`` profile of the emulator under ``bench/orders.py``
(what holds the GIL is what limits a one-process emulator):

- to spot form posts, twisted parses each request's Content-Type by building an
  ``email.message.EmailMessage`` (12.6% of the samples); ``content_type.media_type`` gives
  the same answer with a split;
- twisted formats an access-log line for every request and writes it to the legacy log
  (about 4%). LocalStack logs each AWS request itself; the twisted line is dropped.

Performance hooks: answers are the same. Declared in ``PATCHES`` and applied by ``startup.py``
after every patch's targets have been checked (``patches.py``); both are looked up per
request. twisted here is ``localstack-twisted``, pinned in emulator/constraints.txt.
"""

from __future__ import annotations

from typing import Any

from orderflow_hostexec.content_type import media_type
from orderflow_hostexec.patches import Patch, Target


def cheap_content_type_parsing() -> None:
    from twisted.web import http

    http._parseContentType = media_type


def no_access_log_lines() -> None:
    from twisted.web import http

    def log(self: Any, request: Any) -> None:
        """LocalStack logs the request (service, operation, status) itself."""

    http.HTTPFactory.log = log


_TWISTED = ("localstack-core", "localstack-twisted")

PATCHES = (
    Patch(
        name="gateway.content-type",
        kind="performance",
        purpose="twisted.web reads a request's media type with a split, not an EmailMessage",
        targets=(Target("twisted.web.http", "_parseContentType", parameters=("line",)),),
        apply=cheap_content_type_parsing,
        distributions=_TWISTED,
    ),
    Patch(
        name="gateway.no-access-log",
        kind="performance",
        purpose="twisted.web formats no access-log line per request (LocalStack logs requests)",
        targets=(Target("twisted.web.http", "HTTPFactory.log", parameters=("self", "request")),),
        apply=no_access_log_lines,
        distributions=_TWISTED,
    ),
)
