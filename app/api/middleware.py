"""Cross-cutting hardening: security headers, request ids, a JSON-lines access log, no traces."""

from __future__ import annotations

import json
import logging
import os
import re
import socket
import sys
import time
import uuid
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.admission import AdmissionMiddleware
from app.api.cors import CorsPolicy, check_origins
from app.api.errors import error_body
from app.core.config import get_settings


def content_security_policy(frame_ancestors: Sequence[str] = ()) -> str:
    """The CSP. Pages may be framed by this site's own pages (the lesson player shows a live
    view in an iframe) and by the origins of BPC_FRAME_ANCESTORS (a slide, a course page)."""
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data: blob:",
            "font-src 'self'",
            "connect-src 'self'",
            "worker-src 'self' blob:",
            "object-src 'none'",
            " ".join(["frame-ancestors 'self'", *frame_ancestors]),
            "base-uri 'none'",
            "form-action 'self'",
        ]
    )


def security_headers(frame_ancestors: Sequence[str] = ()) -> tuple[tuple[str, str], ...]:
    """Sent on every response, error or not. The CSP has no 'unsafe-inline' anywhere: pages
    load scripts and styles only from /static, and user text reaches the DOM only via
    textContent. X-Frame-Options (for browsers without CSP's frame-ancestors) can name no
    other origin, so it is sent only when no other origin may frame the pages."""
    headers = [
        ("content-security-policy", content_security_policy(frame_ancestors)),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "no-referrer"),
        ("x-frame-options", "SAMEORIGIN"),
        ("cross-origin-opener-policy", "same-origin"),
        ("cross-origin-resource-policy", "same-origin"),
    ]
    return tuple(h for h in headers if not (frame_ancestors and h[0] == "x-frame-options"))


def frame_ancestor_origins(setting: str) -> list[str]:
    """BPC_FRAME_ANCESTORS' origins (comma-separated); raises ValueError naming a malformed one.
    No "*": a page any site may frame is open to clickjacking, so each site is named."""
    origins = [part.strip() for part in setting.split(",") if part.strip()]
    if "*" in origins:
        raise ValueError(
            "BPC_FRAME_ANCESTORS: '*' is not allowed: name each site that may frame the pages, "
            "such as 'https://slides.example.org'"
        )
    return check_origins(origins, "BPC_FRAME_ANCESTORS")


# The headers with the default settings (the server's own 400 answers, app/serve.py, and tests)
CONTENT_SECURITY_POLICY = content_security_policy()
SECURITY_HEADERS = security_headers()

# A client-supplied id (e.g. nginx's $request_id) is kept only if it is short and plain.
_REQUEST_ID_OK = re.compile(r"[A-Za-z0-9._-]{1,64}")

access_log = logging.getLogger("backprop_circuits.access")
error_log = logging.getLogger("backprop_circuits")


def instance_id() -> str:
    """Names this process in the X-Instance header, so a load balancer's spread can be seen."""
    configured = get_settings().instance_id
    return configured or f"{socket.gethostname()}-{os.getpid()}"


def configure_logging() -> None:
    """Access log: one JSON object per line on stdout. Errors: stderr. Idempotent."""
    if not access_log.handlers:
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(logging.Formatter("%(message)s"))
        access_log.addHandler(handler)
        access_log.setLevel(logging.INFO)
        access_log.propagate = False
    if not error_log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
        error_log.addHandler(handler)
        error_log.setLevel(logging.INFO)
        error_log.propagate = False


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return str(value.decode("latin-1"))
    return None


def _is_preflight(scope: Scope) -> bool:
    return (
        scope.get("method") == "OPTIONS"
        and _header(scope, b"access-control-request-method") is not None
    )


def _incoming_request_id(scope: Scope) -> str:
    text = _header(scope, b"x-request-id")
    return text if text is not None and _REQUEST_ID_OK.fullmatch(text) else uuid.uuid4().hex


def _internal_error_body(request_id: str) -> dict[str, Any]:
    detail = {
        "type": "internal_error",
        "loc": [],
        "msg": "internal server error; it has been logged with this request id",
        "request_id": request_id,
    }
    return error_body(500, [detail])


def _declared_body_too_large(scope: Scope, limit: int) -> tuple[int, dict[str, Any]] | None:
    """A 413 body when Content-Length alone shows the body is over the limit (nothing is read).

    Bodies without a Content-Length are still cut off by FastAPI's max_body_size while read.
    A GET's or HEAD's body is never read, so it is never refused (their operations list no 413).
    """
    if scope.get("method") in ("GET", "HEAD"):
        return None
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                declared = int(value)
            except ValueError:
                return None
            if declared <= limit:
                return None
            return _body_too_large(declared, limit)
    return None


def _body_too_large(size: int, limit: int) -> tuple[int, dict[str, Any]]:
    msg = f"request body is {size} bytes, over the limit of {limit} (setting BPC_MAX_BODY_BYTES)"
    detail = {"type": "limit_exceeded", "loc": ["body"], "msg": msg, "limit": limit}
    return 413, error_body(413, [detail])


def _is_json_body(scope: Scope) -> bool:
    if scope.get("method") not in ("POST", "PUT", "PATCH"):
        return False
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            return b"json" in value.lower()
    return False


# A JSON \uXXXX escape of a UTF-16 surrogate, with the backslashes before it (an even run of
# backslashes means the "\u" is literal text, not an escape).
_SURROGATE_ESCAPE = re.compile(rb"(\\+)u([dD][89a-fA-F][0-9a-fA-F]{2})")


def _lone_surrogate_at(body: bytes) -> int | None:
    """Where a \\uD800-\\uDFFF escape stands without its pair (it cannot be encoded as UTF-8,
    so any echo of it would fail later); None when every surrogate escape is paired."""
    if b"\\u" not in body:  # nearly every body: a byte search instead of the regex's scan
        return None
    pending_high: int | None = None
    last_end = -1
    for match in _SURROGATE_ESCAPE.finditer(body):
        if len(match.group(1)) % 2 == 0:
            continue
        code = int(match.group(2), 16)
        start = match.start(1) + len(match.group(1)) - 1
        if code < 0xDC00:  # high half: a low half must follow at once
            if pending_high is not None:
                return pending_high
            pending_high, last_end = start, match.end()
        elif pending_high is not None and start == last_end:
            pending_high = None
        else:
            return start
    return pending_high


def _is_utf8(body: bytes) -> bool:
    return json.detect_encoding(body) == "utf-8"


def _lone_raw_surrogate_at(body: bytes) -> int | None:
    """In a UTF-16 or UTF-32 body (JSON allows both, and json.loads reads them with
    surrogatepass), where an unpaired surrogate code unit stands, as a character offset."""
    encoding = json.detect_encoding(body)
    try:
        text = body.decode(encoding, "surrogatepass")
    except UnicodeDecodeError:
        return None  # not decodable at all: the JSON parser's own 422 says so
    match = re.search("[\ud800-\udfff]", text)
    return match.start() if match else None


# Where the body screen leaves a whole JSON body it read and passed (the scope's key): the
# evaluate route's lean path (app/api/lean_route.py) reads it there instead of through the
# receive() wrappers between the screen and the route, which replay the same bytes.
SCREENED_BODY = "bpc.screened_body"


async def _screen_json_body(
    receive: Receive, limit: int, scope: Scope
) -> tuple[Receive, tuple[int, dict[str, Any]] | None]:
    """Reads the whole JSON body (at most `limit` bytes), refuses lone surrogates, and hands
    the app a receive() that replays it, and the body in the scope (SCREENED_BODY) when the
    client sent all of it."""
    chunks: list[bytes] = []
    size = 0
    whole = False
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break  # the client went away; the app will see the disconnect
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return receive, _body_too_large(size, limit)
        chunks.append(chunk)
        if not message.get("more_body"):
            whole = True
            break
    body = b"".join(chunks)
    utf8 = _is_utf8(body)
    at = _lone_surrogate_at(body) if utf8 else _lone_raw_surrogate_at(body)
    if at is not None:
        where = (
            f"escape at byte {at}" if utf8 else f"at character {at} ({json.detect_encoding(body)})"
        )
        msg = f"the JSON body has an unpaired UTF-16 surrogate {where}: text must be valid Unicode"
        problem = {"type": "unicode_error", "loc": ["body"], "msg": msg}
        return receive, (422, error_body(422, [problem]))
    if whole:
        scope[SCREENED_BODY] = body
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay, None


def _merge_headers(message: Message, extra: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    headers = list(message.get("headers", ()))
    # A route may send a CSP of its own (the ReDoc page adds a per-response style nonce);
    # every other header of ours replaces the app's.
    own_csp = any(k.lower() == b"content-security-policy" for k, _ in headers)
    ours = {name for name, _ in extra if not (own_csp and name == b"content-security-policy")}
    # Vary lists what the answer depends on: the app's (Accept-Encoding, from gzip) and ours
    # (Origin, from CORS) are joined, not replaced
    listed = [v for k, v in headers if k.lower() == b"vary"] + [v for k, v in extra if k == b"vary"]
    vary = list(dict.fromkeys(n.strip() for v in listed for n in v.split(b",") if n.strip()))
    ours.add(b"vary")
    kept = [(k, v) for k, v in headers if k.lower() not in ours]
    merged = kept + [(k, v) for k, v in extra if k in ours and k != b"vary"]
    return merged + ([(b"vary", b", ".join(vary))] if vary else [])


async def _send_json(send: Send, status: int, content: dict[str, Any]) -> None:
    body = json.dumps(content).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class BodyScreenMiddleware:
    """A body over BPC_MAX_BODY_BYTES (declared or streamed) is a 413, and a JSON body that is
    not strict JSON a 422, before any route reads it. Inside the admission door, so a client
    past its share of compute requests is refused before its body is read."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refusal = _declared_body_too_large(scope, self.max_body_bytes)
        if refusal is None and _is_json_body(scope):
            receive, refusal = await _screen_json_body(receive, self.max_body_bytes, scope)
        if refusal is not None:
            status, content = refusal
            await _send_json(send, status, content)
        else:
            await self.app(scope, receive, send)


class HardeningMiddleware:
    """Pure ASGI middleware (streams untouched): headers, request id, access log, catch-all."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        log_access: bool,
        cors: CorsPolicy | None = None,
        headers: tuple[tuple[str, str], ...] = SECURITY_HEADERS,
    ) -> None:
        self.app = app
        self.log_access = log_access
        self.headers = tuple((k.encode(), v.encode()) for k, v in headers)
        self.instance = instance_id().encode("latin-1", "replace")
        self.cors = cors or CorsPolicy(())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _incoming_request_id(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 0
        response_started = False
        response_complete = False
        origin = _header(scope, b"origin")
        shared = self.cors.applies(scope["path"]) and self.cors.allows(origin)
        extra_headers = [
            *self.headers,
            (b"x-request-id", request_id.encode()),
            (b"x-instance", self.instance),
        ]
        if shared and origin is not None:
            # an allowed origin may read the API's answers, errors included (BPC_CORS_ORIGINS)
            extra_headers = [
                (k, b"cross-origin" if k == b"cross-origin-resource-policy" else v)
                for k, v in extra_headers
            ] + self.cors.answer_headers(origin)

        async def send_with_headers(message: Message) -> None:
            nonlocal status, response_started, response_complete
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                message = {**message, "headers": _merge_headers(message, extra_headers)}
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                response_complete = True
            await send(message)

        try:
            if _is_preflight(scope) and self.cors.applies(scope["path"]):
                await self._preflight(scope, origin, shared, send_with_headers)
                status = 204 if shared else 403
                return
            await self.app(scope, receive, send_with_headers)
        except Exception:
            # Should never happen: every bad input is a 4xx upstream. If it does, the trace goes
            # to the server log with the request id, and the client gets only the id.
            error_log.exception("unhandled error request_id=%s path=%s", request_id, scope["path"])
            if not response_started:
                status = 500
                await _send_json(send_with_headers, 500, _internal_error_body(request_id))
            elif not response_complete:
                raise  # mid-stream: only the server can end the connection
        finally:
            if self.log_access:
                self._log(scope, request_id, status, started)

    async def _preflight(self, scope: Scope, origin: str | None, shared: bool, send: Send) -> None:
        """A browser asking whether a script on `origin` may call the API: 204 with the
        permission when BPC_CORS_ORIGINS lists the origin, else a 403 that says which setting."""
        method = (_header(scope, b"access-control-request-method") or "").upper()
        requested = _header(scope, b"access-control-request-headers") or ""
        headers = self.cors.preflight_headers(origin, requested) if shared and origin else None
        if headers is not None and method in ("GET", "POST"):
            await send({"type": "http.response.start", "status": 204, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return
        if not shared:
            msg = (
                f"a page on {origin or 'an unnamed origin'} may not call this API: its origin is "
                "not in BPC_CORS_ORIGINS (empty by default: same origin only)"
            )
        else:
            msg = (
                f"a cross-origin {method or 'request'} with headers {requested!r} is not "
                "allowed: the API takes GET and POST with Content-Type and X-Request-Id"
            )
        problem = {
            "type": "cors_refused",
            "loc": ["header", "origin"],
            "msg": msg,
            "setting": "BPC_CORS_ORIGINS",
        }
        await _send_json(send, 403, error_body(403, [problem]))

    def _log(self, scope: Scope, request_id: str, status: int, started: float) -> None:
        client = scope.get("client")
        record: dict[str, Any] = {
            "ts": round(time.time(), 3),
            "request_id": request_id,
            "method": scope.get("method"),
            "path": scope.get("path"),
            "status": status,
            "ms": round((time.perf_counter() - started) * 1000, 2),
            "client": client[0] if client else None,
        }
        access_log.info(json.dumps(record, ensure_ascii=True))


async def _server_error_handler(request: Request, exc: Exception) -> JSONResponse:
    request_id = request.scope.get("state", {}).get("request_id", "")
    return JSONResponse(status_code=500, content=_internal_error_body(request_id))


def install_hardening(app: FastAPI) -> None:
    """Wraps the whole app (outside even Starlette's error and body-limit layers, so their
    responses get the headers too) and sets up the JSON-lines logs."""
    configure_logging()
    settings = get_settings()
    # Starlette's last-resort 500 answers with this JSON (no trace); our wrapper logs it.
    app.add_exception_handler(Exception, _server_error_handler)
    cors = CorsPolicy(settings.cors_origins)  # a malformed origin stops start-up here
    headers = security_headers(frame_ancestor_origins(settings.frame_ancestors))  # and here
    build_stack = app.build_middleware_stack

    def build_hardened_stack() -> ASGIApp:
        # outermost first: headers and logs on every answer; the door (BPC_MAX_IN_FLIGHT,
        # BPC_COMPUTE_PER_CLIENT) before any body is read; then the body screen; then the app
        screened = BodyScreenMiddleware(build_stack(), max_body_bytes=settings.max_body_bytes)
        door = AdmissionMiddleware(
            screened,
            max_in_flight=settings.max_in_flight,
            per_client=settings.compute_per_client,
        )
        return HardeningMiddleware(door, log_access=settings.access_log, cors=cors, headers=headers)

    app.build_middleware_stack = build_hardened_stack  # type: ignore[method-assign]
