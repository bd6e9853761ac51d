"""Two costs the gateway's HTTP server (twisted.web) pays on every request, made cheap.

Both were at the top of a py-spy ``--gil`` profile of the emulator under ``bench/orders.py``
(what holds the GIL is what limits a one-process emulator):

- to spot form posts, twisted parses each request's Content-Type by building an
  ``email.message.EmailMessage`` (12.6% of the samples); ``content_type.media_type`` gives
  the same answer with a split;
- twisted formats an access-log line for every request and writes it to the legacy log
  (about 4%). LocalStack logs each AWS request itself; the twisted line is dropped.

Applied at emulator start (entry points ``localstack.hooks.on_infra_start``); both are looked
up per request, so the server already listening picks them up.
"""

from __future__ import annotations

from typing import Any

from localstack.runtime import hooks

from orderflow_hostexec.content_type import media_type


@hooks.on_infra_start()
def cheap_content_type_parsing() -> None:
    from twisted.web import http

    if not hasattr(http, "_parseContentType"):
        raise RuntimeError("twisted moved http._parseContentType: update gateway.py")
    http._parseContentType = media_type


@hooks.on_infra_start()
def no_access_log_lines() -> None:
    from twisted.web import http

    def log(self: Any, request: Any) -> None:
        """LocalStack logs the request (service, operation, status) itself."""

    http.HTTPFactory.log = log
