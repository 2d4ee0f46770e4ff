"""Security headers, request ids, the JSON access log and the no-trace catch-all, on every response."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.api.middleware import CONTENT_SECURITY_POLICY, access_log, error_log
from app.main import create_app


def _app_with_broken_route() -> FastAPI:
    app = create_app()

    @app.get("/boom-for-test")
    def boom() -> None:
        raise RuntimeError("secret internals: /etc/passwd line 42")

    return app


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())
        self.records.append(record)


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with TestClient(_app_with_broken_route(), raise_server_exceptions=False) as c:
        yield c


def _assert_security_headers(headers: object) -> None:
    csp = headers["content-security-policy"]  # type: ignore[index]
    assert csp == CONTENT_SECURITY_POLICY
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    for directive in (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "connect-src 'self'",
        "frame-ancestors 'self';",
        "base-uri 'none'",
    ):
        assert directive in csp
    assert headers["x-content-type-options"] == "nosniff"  # type: ignore[index]
    assert headers["referrer-policy"] == "no-referrer"  # type: ignore[index]
    # framed by this site's own pages only (the lesson player), with no BPC_FRAME_ANCESTORS
    assert headers["x-frame-options"] == "SAMEORIGIN"  # type: ignore[index]


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("GET", "/healthz", None, 200),
        ("GET", "/readyz", None, 200),
        ("GET", "/", None, 200),
        ("GET", "/landscape", None, 200),
        ("GET", "/docs", None, 200),
        ("GET", "/openapi.json", None, 200),
        ("GET", "/static/docs/swagger-init.js", None, 200),
        ("GET", "/no/such/page", None, 404),
        ("DELETE", "/healthz", None, 405),
        ("POST", "/api/v1/circuits/evaluate", b"{not json", 422),
        ("POST", "/api/v1/circuits/evaluate", b"[" * 2_000_000, 413),
        ("GET", "/boom-for-test", None, 500),
    ],
    ids=lambda v: str(v)[:30] if not isinstance(v, bytes) else f"{len(v)}-bytes",
)
def test_every_response_carries_the_security_headers(
    client: TestClient, method: str, path: str, body: bytes | None, status: int
) -> None:
    headers = {"content-type": "application/json"} if body is not None else {}
    response = client.request(method, path, content=body, headers=headers)
    assert response.status_code == status
    _assert_security_headers(response.headers)
    assert len(response.headers["x-request-id"]) == 32
    assert response.headers["x-instance"]


def test_unhandled_error_is_500_json_with_request_id_and_no_trace(client: TestClient) -> None:
    records = _Records()
    error_log.addHandler(records)
    try:
        response = client.get("/boom-for-test", headers={"x-request-id": "abc-123"})
    finally:
        error_log.removeHandler(records)
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/json"
    [detail] = response.json()["detail"]
    assert detail["type"] == "internal_error"
    assert detail["request_id"] == "abc-123"
    assert "secret" not in response.text and "Traceback" not in response.text
    [logged] = [r for r in records.records if "abc-123" in r.getMessage()]
    assert logged.exc_info is not None and "secret internals" in str(logged.exc_info[1])


def test_client_request_id_is_kept_only_when_plain(client: TestClient) -> None:
    kept = client.get("/healthz", headers={"x-request-id": "nginx-0f3a.77"})
    assert kept.headers["x-request-id"] == "nginx-0f3a.77"
    replaced = client.get("/healthz", headers={"x-request-id": "<script>alert(1)</script>"})
    assert replaced.headers["x-request-id"] != "<script>alert(1)</script>"
    assert len(replaced.headers["x-request-id"]) == 32
    first = client.get("/healthz").headers["x-request-id"]
    second = client.get("/healthz").headers["x-request-id"]
    assert first != second


def test_access_log_is_one_json_object_per_request(client: TestClient) -> None:
    records = _Records()
    access_log.addHandler(records)
    try:
        client.get("/no/such/page?q=1", headers={"x-request-id": "log-test-1"})
    finally:
        access_log.removeHandler(records)
    [line] = records.lines
    entry = json.loads(line)
    assert entry["request_id"] == "log-test-1"
    assert entry["method"] == "GET"
    assert entry["path"] == "/no/such/page"
    assert entry["status"] == 404
    assert 0 <= entry["ms"] < 1000


def test_redoc_page_has_a_fresh_style_nonce_and_still_no_unsafe_inline(client: TestClient) -> None:
    first = client.get("/redoc")
    second = client.get("/redoc")
    csp = first.headers["content-security-policy"]
    assert "unsafe-inline" not in csp
    assert "script-src 'self';" in csp
    nonce = csp.split("'nonce-")[1].split("'")[0]
    assert f'data-style-nonce="{nonce}"' in first.text
    assert nonce not in second.headers["content-security-policy"]


def test_docs_pages_load_only_local_assets(client: TestClient) -> None:
    for path in ("/docs", "/redoc"):
        html = client.get(path).text
        assert "<script>" not in html and "style=" not in html
        assert "http" not in html
        for asset in html.split('src="')[1:] + html.split('href="')[1:]:
            url = asset.split('"')[0]
            if not url.startswith("data:"):
                assert client.get(url).status_code == 200, url
