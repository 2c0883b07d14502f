"""The server's security rules as plain functions (quick): Host names, browser origins and API keys. The
end-to-end checks of the same rules through a running app are in test_hostile.py and test_security_rules.py."""

from __future__ import annotations

import pytest

from ferkit.web.guard import check_api_key, host_allowed, host_name, origin_allowed

WILDCARD = ["*.example.org"]


@pytest.mark.parametrize("name", ["api.example.org", "a.b.example.org", "x-1.example.org"])
def test_wildcard_allows_subdomains(name):
    assert host_allowed(name, WILDCARD)


@pytest.mark.parametrize(
    "name", ["evilexample.org", "example.org.evil.com", "example.org", "example.com", "api.example.org.evil", "org", ""]
)
def test_wildcard_refuses_look_alikes_and_the_bare_domain(name):
    # the bare domain is a decision: '*.example.org' names subdomains only; list 'example.org' to serve it too
    assert not host_allowed(name, WILDCARD)
    assert host_allowed("example.org", [*WILDCARD, "example.org"])


def test_exact_names_any_name_and_case():
    assert host_allowed("faces.lan", ["faces.lan"]) and not host_allowed("faces.lan.evil", ["faces.lan"])
    assert not host_allowed("myfaces.lan", ["faces.lan"]) and not host_allowed("faces.lan", [])
    assert host_allowed("anything.at.all", ["faces.lan", "*"])
    assert host_allowed("faces.lan", ["FACES.LAN"]) and host_allowed("api.example.org", ["*.EXAMPLE.org"])


@pytest.mark.parametrize(
    "header, name",
    [
        ("localhost", "localhost"),
        ("LocalHost:8000", "localhost"),
        ("127.0.0.1:80", "127.0.0.1"),
        ("[::1]:8000", "::1"),
        ("[::1]", "::1"),
        ("::1", "::1"),
        ("example.org.", "example.org"),
        (" Faces.Lan:443 ", "faces.lan"),
        ("", ""),
        ("[::1", "[::1"),
    ],
)
def test_host_name_strips_port_case_and_trailing_dot(header, name):
    assert host_name(header) == name


def test_trailing_dot_and_port_do_not_change_the_decision():
    # 'localhost.' and 'LOCALHOST:1' are the same machine; 'localhost.evil' is not
    loopback = ["localhost", "127.0.0.1", "::1"]
    assert host_allowed(host_name("localhost.:8000"), loopback)
    assert not host_allowed(host_name("localhost.evil:8000"), loopback)


@pytest.mark.parametrize(
    "origin, host, scheme, allowed, ok",
    [
        ("http://testserver", "testserver", "http", (), True),  # the server's own page
        ("http://testserver/", "testserver", "ws", (), True),  # http page -> ws socket
        ("https://testserver", "testserver", "wss", (), True),
        ("https://testserver", "testserver", "http", (), False),  # another scheme is another origin
        ("http://testserver", "testserver", "wss", (), False),
        ("http://testserver:80", "testserver", "http", (), True),  # the scheme's default port
        ("https://testserver:443", "testserver:443", "https", (), True),
        ("http://testserver:8000", "testserver", "http", (), False),  # another port
        ("http://testserver:8000", "testserver:8000", "http", (), True),
        ("http://testserver.evil.example", "testserver", "http", (), False),
        ("http://evil.example", "testserver", "http", (), False),
        ("null", "testserver", "http", (), False),  # sandboxed frames, file://
        ("file://", "testserver", "http", (), False),
        ("ftp://testserver", "testserver", "http", (), False),
        ("http://EVIL.example", "testserver", "http", ("http://evil.example/",), True),  # listed (any case)
        ("http://evil.example", "testserver", "http", ("http://evil.example:8080",), False),
        ("https://anything", "testserver", "http", ("*",), True),
    ],
)
def test_origin_rules(origin, host, scheme, allowed, ok):
    assert origin_allowed(origin, host, scheme, allowed) is ok


@pytest.mark.parametrize("key", ["abcdefgh", "s3cret-key-123", "A.b_c~d+e/f=g-h", "x" * 200])
def test_api_keys_of_eight_safe_characters_are_accepted(key):
    assert check_api_key(key) == key


@pytest.mark.parametrize(
    "key", ["", "short", "abcdefg", "has space in it", "semi;colon;", 'quote"quote', "newline\nkey", "ünïcödé-key"]
)
def test_api_keys_that_are_short_or_unsafe_are_refused(key):
    with pytest.raises(ValueError, match="8 or more characters"):
        check_api_key(key)
