"""HTTP to subscribers, connecting to the address the logic checked.

``resolve`` asks DNS once; ``post`` connects to the address it is given (never resolving the
host again, so a name that resolves elsewhere a second time, DNS rebinding, cannot redirect
the request) and speaks to the URL's host: ``Host`` header, TLS SNI and certificate check
against the host name. Redirects are not followed (a 3xx is a failed attempt): a redirect
could point anywhere, past the checks. At most ``MAX_RESPONSE_BYTES`` of the answer are read.
"""

import http.client
import ipaddress
import socket
import ssl
from collections.abc import Mapping
from functools import cache

from webhooks.models import Destination, IPAddress

MAX_RESPONSE_BYTES = 64 * 1024


@cache
def _tls() -> ssl.SSLContext:
    return ssl.create_default_context()


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=_tls())
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = _tls().wrap_socket(sock, server_hostname=self.host)


class HttpTransport:
    def resolve(self, host: str, port: int) -> list[IPAddress]:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        addresses: list[IPAddress] = []
        for *_, sockaddr in found:
            address = ipaddress.ip_address(str(sockaddr[0]).split("%")[0])
            if address not in addresses:
                addresses.append(address)
        return addresses

    def post(
        self,
        destination: Destination,
        address: IPAddress,
        headers: Mapping[str, str],
        body: bytes,
        timeout: float,
    ) -> int:
        kind = _PinnedHTTPSConnection if destination.scheme == "https" else _PinnedHTTPConnection
        connection = kind(destination.host, destination.port, str(address), timeout)
        try:
            connection.request("POST", destination.target, body=body, headers=dict(headers))
            response = connection.getresponse()
            response.read(MAX_RESPONSE_BYTES)
            return response.status
        finally:
            connection.close()
