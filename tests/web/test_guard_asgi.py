"""The guards and the body limit driven as bare ASGI apps: the exact messages they send (status, headers,
JSON body, WebSocket close), which requests reach the app behind them, and where each rule's boundary lies."""

from __future__ import annotations

import asyncio
import json

import pytest

from ferkit.web.errors import ApiError, too_large
from ferkit.web.guard import ApiKeyGuard, HostGuard, refuse
from ferkit.web.middleware import BodyLimitMiddleware, call_guarding_body

KEY = "s3cret-key"


class Inner:
    """The app behind the guard: records that it ran and answers 200 (reading the body first)."""

    def __init__(self):
        self.calls = 0

    async def __call__(self, scope, receive, send):
        self.calls += 1
        if scope["type"] == "http":
            while (await receive()).get("more_body"):
                pass
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"ok"})


def run(app, scope, chunks=(b"",)):
    sent = []
    queue = [{"type": "http.request", "body": c, "more_body": i < len(chunks) - 1} for i, c in enumerate(chunks)]

    async def receive():
        return queue.pop(0)

    async def send(message):
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    return sent


def http(path="/api/x", method="GET", headers=(), query=b"", scheme="http"):
    return {
        "type": "http",
        "method": method,
        "path": path,
        "query_string": query,
        "scheme": scheme,
        "headers": list(headers),
    }


def ws(path="/ws", headers=(), query=b""):
    return {"type": "websocket", "path": path, "query_string": query, "scheme": "ws", "headers": list(headers)}


def json_error(sent, status):
    start, body = sent
    assert start["type"] == "http.response.start" and start["status"] == status and body["type"] == "http.response.body"
    headers = dict(start["headers"])
    assert headers[b"content-type"] == b"application/json"
    assert headers[b"content-length"] == str(len(body["body"])).encode()
    return json.loads(body["body"]), start["headers"]


def test_refuse_http_and_websocket():
    sent = []

    async def send(m):
        sent.append(m)

    asyncio.run(refuse(http(), send, 418, "teapot", "short and stout", headers={"X-Extra": "Yes"}))
    body, headers = json_error(sent, 418)
    assert body == {"error": "teapot", "detail": "short and stout"}
    assert headers[2:] == [(b"x-extra", b"Yes")] and len(headers) == 3
    sent.clear()
    asyncio.run(refuse(ws(), send, 403, "no", "x" * 200))
    assert sent == [{"type": "websocket.close", "code": 1008, "reason": "x" * 120}]


def test_host_guard_messages_and_passthrough():
    inner = Inner()
    guard = HostGuard(inner, allowed_hosts=["localhost", "a.org"])
    body, _ = json_error(run(guard, http(headers=[(b"Host", b"evil.org")])), 400)
    assert body == {
        "error": "invalid_host",
        "detail": "Host 'evil.org' is not served here (allowed: localhost, a.org; the server adds names with "
        "--allowed-host)",
    }
    body, _ = json_error(run(guard, http()), 400)  # no Host header at all
    assert body["detail"].startswith("Host '' is not served here")
    assert inner.calls == 0
    assert run(guard, {"type": "lifespan"}) == [] and inner.calls == 1
    assert run(guard, http(headers=[(b"host", b"A.org:8000")]))[0]["status"] == 200 and inner.calls == 2


def test_host_guard_origin_rule_by_method_and_kind():
    inner = Inner()
    guard = HostGuard(inner, allow_origins=["https://ok.example"])
    evil = (b"origin", b"https://evil.example")
    host = (b"host", b"localhost:8000")
    for method in ("GET", "HEAD", "OPTIONS"):  # reading requests are not checked (CORS covers them)
        assert run(guard, http(method=method, headers=[host, evil]))[0]["status"] == 200
    body, _ = json_error(run(guard, http(method="POST", headers=[host, evil])), 403)
    assert body == {
        "error": "origin_not_allowed",
        "detail": "pages from 'https://evil.example' may not use this server (the server allows more with "
        "--allow-origin)",
    }
    assert run(guard, ws(headers=[host, evil]))[0]["type"] == "websocket.close"
    assert run(guard, http(method="POST", headers=[host, (b"origin", b"https://ok.example")]))[0]["status"] == 200
    assert run(guard, http(method="POST", headers=[host, (b"origin", b"http://localhost:8000")]))[0]["status"] == 200
    assert run(guard, http(method="DELETE", headers=[host]))[0]["status"] == 200  # no Origin: not a browser page
    calls = inner.calls
    run(guard, ws(headers=[host, (b"origin", b"http://localhost:8000")]))
    assert inner.calls == calls + 1  # same origin, WebSocket scheme ws


def test_api_key_login_redirect_sets_the_cookie():
    inner = Inner()
    guard = ApiKeyGuard(inner, KEY)
    sent = run(guard, http(path="/", query=f"api_key={KEY}".encode()))
    assert sent == [
        {
            "type": "http.response.start",
            "status": 303,
            "headers": [
                (b"location", b"/"),
                (b"set-cookie", f"ferkit_api_key={KEY}; HttpOnly; SameSite=Strict; Path=/".encode()),
                (b"content-length", b"0"),
            ],
        },
        {"type": "http.response.body", "body": b""},
    ]
    body, headers = json_error(run(guard, http(path="/", query=b"api_key=wrong-key-1")), 401)
    assert body == {"error": "unauthorized", "detail": "wrong API key"} and len(headers) == 2
    assert inner.calls == 0


def test_api_key_refusal_and_what_gets_through():
    inner = Inner()
    guard = ApiKeyGuard(inner, KEY)
    body, headers = json_error(run(guard, http()), 401)
    assert body == {
        "error": "unauthorized",
        "detail": "this server needs an API key: send 'Authorization: Bearer KEY' or 'X-API-Key: KEY' "
        "(in a browser, open /?api_key=KEY once)",
    }
    assert headers[2:] == [(b"www-authenticate", b"Bearer")]
    assert inner.calls == 0
    ok = [
        http(path="/"),
        http(path="/healthz"),
        http(path="/static/app.js"),
        http(path="/docs-assets/x.css"),
        http(method="OPTIONS"),
        http(headers=[(b"authorization", f"Bearer {KEY}".encode())]),
        http(headers=[(b"Authorization", f"bearer  {KEY} ".encode())]),
        http(headers=[(b"x-api-key", f" {KEY}".encode())]),
        http(headers=[(b"cookie", f"other=1; ferkit_api_key={KEY}".encode())]),
        http(query=f"api_key={KEY}".encode()),
        ws(headers=[(b"x-api-key", KEY.encode())]),
    ]
    for scope in ok:
        run(guard, scope)
    assert inner.calls == len(ok)
    refused = [
        http(path="/static"),
        http(path="/api/x", headers=[(b"authorization", f"Basic {KEY}".encode())]),
        http(headers=[(b"cookie", f"ferkit_api_keyX={KEY}".encode())]),
        http(headers=[(b"cookie", b'ferkit_api_key="unterminated')]),
        http(headers=[(b"x-api-key", b"wrong-key-1")]),
        ws(),
    ]
    for scope in refused:
        run(guard, scope)
    assert inner.calls == len(ok)
    close = run(guard, ws())[0]
    assert close["type"] == "websocket.close" and close["reason"].startswith("this server needs an API key")


def test_body_limit_declared_and_streamed():
    limit_seen = []

    def limit_for(path):
        limit_seen.append(path)
        return 10

    inner = Inner()
    mw = BodyLimitMiddleware(inner, limit_for)
    expected = json.dumps(too_large("the request body", 10).body()).encode()
    sent = run(mw, http(method="POST", path="/up", headers=[(b"content-length", b"11")]))
    assert sent[0]["headers"] == [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(expected)).encode()),
        (b"connection", b"close"),
    ]
    assert sent[0]["status"] == 413 and sent[1] == {"type": "http.response.body", "body": expected}
    assert inner.calls == 0 and limit_seen == ["/up"]
    assert run(mw, http(method="POST", headers=[(b"content-length", b"10")]), [b"x" * 10])[0]["status"] == 200
    sent = run(mw, http(method="POST"), [b"x" * 6, b"x" * 5])  # chunked: 11 bytes in two parts
    assert sent[0]["status"] == 413 and sent[1]["body"] == expected
    assert run(mw, http(method="POST"), [b"x" * 6, b"x" * 4])[0]["status"] == 200
    assert run(mw, http(method="GET", headers=[(b"content-length", b"99")]), [b"x" * 99])[0]["status"] == 200
    assert run(mw, {"type": "lifespan", "method": "POST"}) == []


def test_call_guarding_body_answers_only_its_status_before_the_response():
    answered = []

    async def answer(e):
        answered.append(e.status)

    async def noop(m):
        pass

    def app_raising(status, start_first):
        async def app(scope, receive, send):
            if start_first:
                await send({"type": "http.response.start", "status": 200, "headers": []})
            raise ApiError(status, "x", "y")

        return app

    asyncio.run(call_guarding_body(app_raising(413, False), http(), None, noop, 413, answer))
    assert answered == [413]
    for status, started in ((400, False), (413, True)):
        with pytest.raises(ApiError):
            asyncio.run(call_guarding_body(app_raising(status, started), http(), None, noop, 413, answer))
    assert answered == [413]


def test_reading_methods_skip_the_body_limit_and_scopes_may_lack_optional_keys():
    mw = BodyLimitMiddleware(Inner(), lambda path: 10)
    for method in ("HEAD", "OPTIONS"):
        assert run(mw, http(method=method, headers=[(b"content-length", b"99")]), [b"x" * 99])[0]["status"] == 200
    bare = {"type": "http", "method": "POST", "path": "/api/x", "headers": [(b"host", b"localhost:8000")]}
    # no "scheme" (http assumed) and no "query_string" in the scope: same origin, and no key given
    assert (
        run(HostGuard(Inner()), {**bare, "headers": [*bare["headers"], (b"origin", b"http://localhost:8000")]})[0][
            "status"
        ]
        == 200
    )
    assert run(ApiKeyGuard(Inner(), KEY), bare)[0]["status"] == 401
    assert run(ApiKeyGuard(Inner(), KEY), {**bare, "path": "/", "method": "GET"})[0]["status"] == 200


def test_origin_and_host_edge_cases():
    from ferkit.web.guard import check_api_key, host_name, origin_allowed

    assert origin_allowed("https://box/", "localhost", "http", ["https://BOX/"])  # slashes and case of both sides
    assert origin_allowed("https://BOX", "localhost", "http", ["https://box"])
    assert origin_allowed("http://[::1]", "[::1]:80", "http", [])  # IPv6 with the default port
    assert not origin_allowed("http://", "", "http", [])  # no host in the origin: refused
    assert host_name("[::1]]") == "::1"
    with pytest.raises(ValueError) as e:
        check_api_key("short")
    assert str(e.value) == "an API key needs 8 or more characters, each a letter, a digit or one of . _ ~ + / = -"


def test_the_scopes_scheme_decides_the_same_origin():
    inner = Inner()
    guard = HostGuard(inner)
    host = (b"host", b"localhost")
    secure = {**ws(headers=[host, (b"origin", b"https://localhost")]), "scheme": "wss"}
    run(guard, secure)
    assert inner.calls == 1  # a wss socket from its https page
    plain = {**ws(headers=[host, (b"origin", b"http://localhost")]), "scheme": "wss"}
    assert run(guard, plain)[0]["type"] == "websocket.close" and inner.calls == 1  # an http page is another origin
