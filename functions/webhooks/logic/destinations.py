"""Where a webhook may be delivered: pure rules, checked when a subscription is registered
(on its URL) and again at every delivery (on each address the host resolves to, so that a
name that later resolves somewhere else, DNS rebinding, is refused too).

- ``https`` only. ``http`` only to a loopback host, and loopback only when the stage allows it
  (dev: functions on the emulator run as host processes, so ``127.0.0.1`` is the machine that
  runs the tests' receiver).
- Never: private (RFC 1918, ``fc00::/7``), link-local (``169.254.0.0/16``, the cloud metadata
  service ``169.254.169.254`` included; ``fe80::/10``), unspecified (``0.0.0.0``, ``::``),
  multicast, carrier-grade NAT (``100.64.0.0/10``), documentation, benchmarking and reserved
  ranges: an address must be globally routable (``is_global``). IPv6 forms that carry an
  IPv4 address (IPv4-mapped ``::ffff:a.b.c.d``, IPv4-compatible ``::a.b.c.d``, 6to4
  ``2002::/16``, NAT64 ``64:ff9b::/96``, Teredo) are judged by the IPv4 address they carry.
- Hosts written as numbers the way ``inet_aton`` reads them (``2130706433``, ``0x7f.1``,
  ``0177.0.0.1``) are read as the IPv4 address they mean, then judged like one.
- No credentials in the URL (``user:pass@``), no empty host.
"""

import ipaddress
import re
from urllib.parse import SplitResult, urlsplit

from webhooks.errors import UnsafeDestination
from webhooks.models import DEFAULT_PORTS, Destination, IPAddress

_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")
_CGNAT = ipaddress.IPv4Network("100.64.0.0/10")
_METADATA = ipaddress.IPv4Address("169.254.169.254")
_NUMERIC_PART = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$")


def check_url(url: str, *, allow_loopback: bool) -> Destination:
    """The destination ``url`` names, or ``UnsafeDestination`` saying why it is refused."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise UnsafeDestination(f"not a valid URL: {exc}") from exc
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise UnsafeDestination("must be an https URL")
    if parts.username is not None or parts.password is not None:
        raise UnsafeDestination("must not carry credentials (user:password@)")
    host = _host(parts)
    address = host_address(host)
    destination = Destination(
        scheme=scheme,
        host=host,
        port=port or DEFAULT_PORTS[scheme],
        target=(parts.path or "/") + (f"?{parts.query}" if parts.query else ""),
        address=address,
    )
    loopback = destination.loopback_name or (address is not None and _is_loopback(address))
    if loopback and not allow_loopback:
        raise UnsafeDestination("loopback destinations are not allowed on this stage")
    if scheme == "http" and not loopback:
        raise UnsafeDestination("must be an https URL (http only to loopback, on dev)")
    if address is not None:
        check_address(address, allow_loopback=allow_loopback)
    return destination


def check_address(address: IPAddress, *, allow_loopback: bool) -> None:
    """``UnsafeDestination`` unless ``address`` may be connected to."""
    embedded = _embedded_ipv4(address)
    if embedded is not None:
        try:
            check_address(embedded, allow_loopback=allow_loopback)
        except UnsafeDestination as exc:
            raise UnsafeDestination(f"{address} carries {embedded}: {exc.problem}") from exc
        return
    if _is_loopback(address):
        if allow_loopback:
            return
        raise UnsafeDestination(f"{address} is a loopback address")
    problem = _problem(address)
    if problem is not None:
        raise UnsafeDestination(f"{address} is {problem}")


def host_address(host: str) -> IPAddress | None:
    """``host`` as an IP address when it is one, in any form ``inet_aton`` reads (decimal,
    octal, hex, fewer than four parts); None for a name."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    parts = host.split(".")
    if not all(_NUMERIC_PART.match(part) for part in parts) or len(parts) > 4:
        if all(part.isdigit() for part in parts if part):
            raise UnsafeDestination(f"{host!r} is not a valid address")
        return None
    try:
        numbers = [_number(part) for part in parts]
    except ValueError as exc:
        raise UnsafeDestination(f"{host!r} is not a valid address") from exc
    *head, last = numbers
    if any(n > 255 for n in head) or last >= 256 ** (5 - len(numbers)):
        raise UnsafeDestination(f"{host!r} is not a valid address")
    value = last
    for index, number in enumerate(head):
        value += number << (8 * (3 - index))
    return ipaddress.IPv4Address(value)


def _host(parts: SplitResult) -> str:
    host = (parts.hostname or "").rstrip(".").lower()
    if not host:
        raise UnsafeDestination("must name a host")
    try:
        host.encode("idna")
    except UnicodeError as exc:
        raise UnsafeDestination(f"host {host!r} is not a valid name") from exc
    return host


def _number(part: str) -> int:
    if part.startswith("0x"):
        return int(part[2:] or "0", 16)
    if len(part) > 1 and part.startswith("0"):
        return int(part, 8)
    return int(part)


def _is_loopback(address: IPAddress) -> bool:
    embedded = _embedded_ipv4(address)
    return (embedded or address).is_loopback


def _embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in _NAT64 or (address in _IPV4_COMPATIBLE and int(address) > 1):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _problem(address: IPAddress) -> str | None:
    """Why ``address`` is refused (loopback aside), or None when it is globally routable."""
    checks = (
        (address == _METADATA, "the cloud metadata service (link-local)"),
        (address.is_unspecified, "unspecified"),
        (address.is_link_local, "link-local"),
        (address.is_multicast, "multicast"),
        (isinstance(address, ipaddress.IPv4Address) and address in _CGNAT, "carrier-grade NAT"),
        (address.is_private, "private"),
        (address.is_reserved, "reserved"),
        (not address.is_global, "not globally routable"),
    )
    return next((problem for refused, problem in checks if refused), None)
