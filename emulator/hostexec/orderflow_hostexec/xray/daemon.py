"""The X-Ray daemon of the emulator: a UDP listener on a loopback address that stores what the
X-Ray SDK sends (``store.parse_datagram``), as the daemon does on AWS before batching the
documents to ``PutTraceSegments``.

Its address is ``127.0.0.1:<port>``: ``ORDERFLOW_XRAY_DAEMON_PORT`` if set, else a port the
system picks (several emulators may run on one machine; AWS's 2000 would collide). The host
executor gives every function ``AWS_XRAY_DAEMON_ADDRESS`` pointing at it, as Lambda does.
"""

from __future__ import annotations

import logging
import os
import socket
import threading

from orderflow_hostexec.xray.store import TraceStore

LOG = logging.getLogger(__name__)
HOST = "127.0.0.1"
_BUFFER = 65_536


class Daemon:
    def __init__(self, store: TraceStore, port: int | None = None) -> None:
        self.store = store
        self._port = port
        self._socket: socket.socket | None = None
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> str:
        """``host:port`` as ``AWS_XRAY_DAEMON_ADDRESS`` takes it (empty before ``start``)."""
        if self._socket is None:
            return ""
        host, port = self._socket.getsockname()[:2]
        return f"{host}:{port}"

    def start(self) -> str:
        if self._socket is not None:
            return self.address
        port = self._port
        if port is None:
            port = int(os.environ.get("ORDERFLOW_XRAY_DAEMON_PORT", "0"))
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * 1024 * 1024)
        sock.bind((HOST, port))
        self._socket = sock
        self._thread = threading.Thread(target=self._serve, name="xray-daemon", daemon=True)
        self._thread.start()
        LOG.info("X-Ray daemon listening on udp://%s", self.address)
        return self.address

    def _serve(self) -> None:
        sock = self._socket
        assert sock is not None
        while True:
            try:
                data = sock.recv(_BUFFER)
            except OSError:
                return  # closed
            self.store.receive(data)

    def stop(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None
