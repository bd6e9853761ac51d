"""The gateway hook's Content-Type parsing gives what twisted's original (an EmailMessage)
gives, for the headers AWS clients send and for malformed ones."""

from email.message import EmailMessage

import pytest

from orderflow_hostexec.content_type import media_type

HEADERS = [
    b"application/x-amz-json-1.0",
    b"application/x-amz-json-1.1; charset=utf-8",
    b"application/x-www-form-urlencoded; charset=utf-8",
    b"Multipart/Form-Data; boundary=----abc",
    b"  text/XML ; charset=UTF-8",
    b"application/json",
    b"application/cbor",
    b"",
    b"garbage",
    b"/json",
    b"application/",
    b";charset=utf-8",
    b"a/b/c",
    b"a /b",
    b'"a/b"',
    b"text/plain;",
]


def original(header: bytes) -> bytes:
    message = EmailMessage()
    message["content-type"] = header.decode("charmap")
    return message.get_content_type().encode("charmap")


@pytest.mark.parametrize("header", HEADERS)
def test_media_type_matches_the_email_parser(header: bytes) -> None:
    assert media_type(header) == original(header)
