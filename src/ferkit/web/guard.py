"""Who may talk to the service, as plain ASGI middleware in front of everything else.

- ``HostGuard``: the Host header must name this server (loopback names by default), so a DNS-rebinding page
  (``evil.example`` resolving to 127.0.0.1) cannot read answers; WebSockets (and state-changing requests)
  carrying a browser ``Origin`` must come from the server's own origin or an allowed one.
- ``ApiKeyGuard``: with an API key set, every API call must carry it (``Authorization: Bearer KEY``,
  ``X-API-Key: KEY``, or the cookie set by opening ``/?api_key=KEY`` once in a browser)."""

from __future__ import annotations

import hmac
import json
import re
from collections.abc import Iterable
from http.cookies import SimpleCookie
from urllib.parse import parse_qs, urlsplit

LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")
COOKIE = "ferkit_api_key"
# Reachable without the key: the page and its assets (they call the API, which needs it), docs, liveness.
OPEN_PATHS = ("/", "/healthz", "/docs", "/openapi.json", "/favicon.ico")
OPEN_PREFIXES = ("/static/", "/docs-assets/")
_DEFAULT_PORTS = {"http": "80", "ws": "80", "https": "443", "wss": "443"}


def check_api_key(key: str) -> str:
    """An API key is 8 or more characters of A-Z a-z 0-9 . _ ~ + / = - (safe in headers, cookies and URLs)."""
    if len(key) < 8 or not re.fullmatch(r"[A-Za-z0-9._~+/=-]+", key):
        raise ValueError("an API key needs 8 or more characters, each a letter, a digit or one of . _ ~ + / = -")
    return key


def host_name(value: str) -> str:
    """'Example.com:8000' -> 'example.com', '[::1]:80' -> '::1' (lower case, no trailing dot)."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else value
    if value.count(":") == 1:
        value = value.split(":", 1)[0]
    return value.rstrip(".")


def host_allowed(name: str, allowed: Iterable[str]) -> bool:
    """Exact names; ``*`` allows any; ``*.example.com`` allows its subdomains at any depth (``a.example.com``,
    ``a.b.example.com``) but neither ``example.com`` itself (list it as well to serve it) nor a name that only
    ends in the same letters (``evilexample.com``)."""
    for pattern in allowed:
        pattern = pattern.lower()
        if pattern == "*" or pattern == name or (pattern.startswith("*.") and name.endswith(pattern[1:])):
            return True
    return False


def _netloc(scheme: str, netloc: str) -> str:
    """Lower-case host:port with the scheme's default port removed, for same-origin comparison."""
    netloc = netloc.lower()
    host, sep, port = netloc.rpartition(":")
    if sep and not netloc.endswith("]") and port == _DEFAULT_PORTS.get(scheme):
        return host
    return netloc


def origin_allowed(origin: str, host_header: str, scope_scheme: str, allowed: Iterable[str]) -> bool:
    """Same origin as the server (scheme aside: http page -> ws socket), or listed in ``allowed``."""
    origin = origin.strip().rstrip("/").lower()
    allowed = {o.rstrip("/").lower() for o in allowed}
    if "*" in allowed or origin in allowed:
        return True
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return False  # "null" (sandboxed frames, file://) and anything odd
    ours = {"ws": "http", "wss": "https"}.get(scope_scheme, scope_scheme)
    return parts.scheme == ours and _netloc(parts.scheme, parts.netloc) == _netloc(ours, host_header)


def _headers(scope) -> dict[bytes, bytes]:
    return {k.lower(): v for k, v in scope.get("headers") or []}


async def refuse(scope, send, status: int, code: str, detail: str, headers: dict[str, str] | None = None) -> None:
    """JSON error for HTTP; for a WebSocket handshake a close before accept (the client sees HTTP 403)."""
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1008, "reason": detail[:120]})
        return
    body = json.dumps({"error": code, "detail": detail}).encode()
    extra = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *extra],
        }
    )
    await send({"type": "http.response.body", "body": body})


class HostGuard:
    """allowed_hosts: Host names accepted (default: loopback names); allow_origins: browser origins accepted
    for WebSockets and POST/DELETE besides the server's own (``*``: any)."""

    def __init__(self, app, allowed_hosts: Iterable[str] = LOOPBACK_HOSTS, allow_origins: Iterable[str] = ()):
        self.app = app
        self.allowed_hosts = tuple(allowed_hosts)
        self.allow_origins = tuple(allow_origins)

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        headers = _headers(scope)
        host = headers.get(b"host", b"").decode("latin-1")
        if not host_allowed(host_name(host), self.allowed_hosts):
            return await refuse(
                scope,
                send,
                400,
                "invalid_host",
                f"Host {host!r} is not served here (allowed: {', '.join(self.allowed_hosts)}; "
                "the server adds names with --allowed-host)",
            )
        origin = headers.get(b"origin")
        checks_origin = scope["type"] == "websocket" or scope["method"] not in ("GET", "HEAD", "OPTIONS")
        if (
            checks_origin
            and origin is not None
            and not origin_allowed(origin.decode("latin-1"), host, scope.get("scheme", "http"), self.allow_origins)
        ):
            return await refuse(
                scope,
                send,
                403,
                "origin_not_allowed",
                f"pages from {origin.decode('latin-1')!r} may not use this server (the server "
                "allows more with --allow-origin)",
            )
        return await self.app(scope, receive, send)


def _given_key(scope, headers: dict[bytes, bytes]) -> str | None:
    auth = headers.get(b"authorization", b"").decode("latin-1")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    if b"x-api-key" in headers:
        return headers[b"x-api-key"].decode("latin-1").strip()
    if b"cookie" in headers:
        jar = SimpleCookie()
        try:
            jar.load(headers[b"cookie"].decode("latin-1"))
        except Exception:  # a malformed cookie header is just no key  # noqa: BLE001
            return None
        if COOKIE in jar:
            return jar[COOKIE].value
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    return query.get("api_key", [None])[0]


class ApiKeyGuard:
    """Every request outside OPEN_PATHS needs ``key``; ``/?api_key=KEY`` sets a same-site cookie for the page."""

    def __init__(self, app, key: str):
        self.app = app
        self.key = key.encode()

    def _ok(self, given: str | None) -> bool:
        return given is not None and hmac.compare_digest(given.encode(), self.key)

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        path = scope["path"]
        given = _given_key(scope, _headers(scope))
        if scope["type"] == "http" and path == "/" and b"api_key=" in scope.get("query_string", b""):
            if self._ok(given):  # log the browser in, and drop the key from the address bar
                cookie = f"{COOKIE}={given}; HttpOnly; SameSite=Strict; Path=/"
                await send(
                    {
                        "type": "http.response.start",
                        "status": 303,
                        "headers": [(b"location", b"/"), (b"set-cookie", cookie.encode()), (b"content-length", b"0")],
                    }
                )
                return await send({"type": "http.response.body", "body": b""})
            return await refuse(scope, send, 401, "unauthorized", "wrong API key")
        open_path = path in OPEN_PATHS or path.startswith(OPEN_PREFIXES)
        if open_path or (scope["type"] == "http" and scope["method"] == "OPTIONS") or self._ok(given):
            return await self.app(scope, receive, send)
        return await refuse(
            scope,
            send,
            401,
            "unauthorized",
            "this server needs an API key: send 'Authorization: Bearer KEY' or 'X-API-Key: KEY' "
            "(in a browser, open /?api_key=KEY once)",
            headers={"WWW-Authenticate": "Bearer"},
        )
