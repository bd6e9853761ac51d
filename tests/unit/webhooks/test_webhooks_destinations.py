"""Destination safety: https only (http to loopback on dev), never a private, link-local,
metadata, unspecified, multicast or CGNAT address, whatever form the address is written in."""

import ipaddress

import pytest

from webhooks.errors import UnsafeDestination
from webhooks.logic.destinations import check_address, check_url, host_address


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.example.com/orderflow",
        "https://hooks.example.com:8443/x?y=1",
        "https://8.8.8.8/hook",
        "https://[2606:4700:4700::1111]/hook",
        "HTTPS://Hooks.Example.COM./path",
    ],
)
def test_public_https_urls_are_accepted(url: str) -> None:
    destination = check_url(url, allow_loopback=False)
    assert destination.scheme == "https"
    assert destination.port in (443, 8443)


def test_a_url_is_read_into_host_port_and_target() -> None:
    destination = check_url("https://Hooks.Example.com:8443/a/b?c=1#frag", allow_loopback=False)
    assert (destination.host, destination.port, destination.target) == (
        "hooks.example.com",
        8443,
        "/a/b?c=1",
    )
    assert destination.address is None


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://hooks.example.com/", "https"),
        ("ftp://hooks.example.com/", "https"),
        ("hooks.example.com/path", "https"),
        ("", "https"),
        ("https://", "host"),
        ("https://user:pass@hooks.example.com/", "credentials"),
        ("https://hooks.example.com:99999/", "valid URL"),
        ("https://10.0.0.1/", "private"),
        ("https://172.16.5.4/", "private"),
        ("https://192.168.1.1/", "private"),
        ("https://169.254.169.254/latest/meta-data/", "metadata"),
        ("https://169.254.10.1/", "link-local"),
        ("https://0.0.0.0/", "unspecified"),
        ("https://100.64.0.1/", "carrier-grade NAT"),
        ("https://100.127.255.254/", "carrier-grade NAT"),
        ("https://224.0.0.1/", "multicast"),
        ("https://239.255.255.250/", "multicast"),
        ("https://255.255.255.255/", "255.255.255.255 is"),  # broadcast
        ("https://192.0.2.10/", "private"),  # documentation
        ("https://[fc00::1]/", "private"),
        ("https://[fd00:ec2::254]/", "private"),  # the EC2 metadata service over IPv6
        ("https://[fe80::1]/", "link-local"),
        ("https://[::]/", "unspecified"),
        ("https://[ff02::1]/", "multicast"),
        ("https://[::ffff:10.0.0.1]/", "10.0.0.1"),
        ("https://[::ffff:169.254.169.254]/", "metadata"),
        ("https://[::ffff:7f00:1]/", "loopback"),
        ("https://[::10.0.0.1]/", "10.0.0.1"),  # IPv4-compatible
        ("https://[64:ff9b::a9fe:a9fe]/", "metadata"),  # NAT64 of 169.254.169.254
        ("https://[2002:a00:1::]/", "10.0.0.1"),  # 6to4 of 10.0.0.1
        ("https://2852039166/", "metadata"),  # decimal 169.254.169.254
        ("https://0xa9fea9fe/", "metadata"),  # hex
        ("https://0251.0376.0251.0376/", "metadata"),  # octal
        ("https://0xa9.0xfe.0xa9.0xfe/", "metadata"),
        ("https://10.1/", "private"),  # two parts: 10.0.0.1
        ("https://012.0.0.1/", "private"),  # octal 012 = 10
        ("https://127.1/", "loopback"),
        ("https://2130706433/", "loopback"),
        ("https://localhost/", "loopback"),
        ("https://api.localhost/", "loopback"),
        ("http://127.0.0.1:8080/", "loopback"),
        ("https://[::1]/", "loopback"),
        ("https://1.2.3.4.5/", "not a valid address"),
        ("https://09.1.1.1/", "not a valid address"),
        ("https://256.1.1.1/", "not a valid address"),
    ],
)
def test_unsafe_urls_are_refused_naming_why(url: str, problem: str) -> None:
    with pytest.raises(UnsafeDestination) as refused:
        check_url(url, allow_loopback=False)
    assert refused.value.field == "url"
    assert problem in refused.value.problem


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://127.9.9.9/",
        "http://localhost:9000/x",
        "http://[::1]:9000/",
        "https://localhost/",
        "http://2130706433:8000/",
    ],
)
def test_loopback_is_allowed_over_http_when_the_stage_allows_it(url: str) -> None:
    assert check_url(url, allow_loopback=True)


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.example.com/",
        "http://10.0.0.1/",
        "http://169.254.169.254/",
        "https://192.168.0.1/",
    ],
)
def test_allowing_loopback_allows_nothing_else(url: str) -> None:
    with pytest.raises(UnsafeDestination):
        check_url(url, allow_loopback=True)


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("2130706433", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("10.1.2", "10.1.0.2"),
        ("8.8.8.8", "8.8.8.8"),
        ("::1", "::1"),
    ],
)
def test_numeric_hosts_are_read_as_inet_aton_does(host: str, address: str) -> None:
    assert host_address(host) == ipaddress.ip_address(address)


@pytest.mark.parametrize("host", ["example.com", "1e100.net", "123.example", "a.b.c.d"])
def test_names_are_not_addresses(host: str) -> None:
    assert host_address(host) is None


@pytest.mark.parametrize(
    "address", ["10.1.2.3", "169.254.169.254", "fe80::1", "::ffff:192.168.0.1", "100.64.1.1"]
)
def test_resolved_addresses_are_checked_too(address: str) -> None:
    with pytest.raises(UnsafeDestination):
        check_address(ipaddress.ip_address(address), allow_loopback=True)


def test_a_public_resolved_address_passes() -> None:
    check_address(ipaddress.ip_address("93.184.215.14"), allow_loopback=False)
    check_address(
        ipaddress.ip_address("2606:2800:21f:cb07:6820:80da:af6b:8b2c"), allow_loopback=False
    )
