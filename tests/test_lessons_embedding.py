"""Framing (issue 14): this site's own pages may frame ours, and so may the origins of BPC_FRAME_ANCESTORS; the other security headers stay."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from app.api.middleware import frame_ancestor_origins, security_headers
from app.core.config import get_settings

SLIDES = "https://slides.example.org"
COURSE = "http://localhost:8080"


@pytest.fixture
def framed_by(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The app built next lets SLIDES and COURSE frame its pages; settings restored after."""
    import app.main  # noqa: F401  (builds the module-level app now, with the default settings)

    monkeypatch.setenv("BPC_FRAME_ANCESTORS", f" {SLIDES}, {COURSE} ")
    get_settings.cache_clear()
    yield
    monkeypatch.undo()
    get_settings.cache_clear()


def _directive(csp: str) -> str:
    [found] = [d.strip() for d in csp.split(";") if d.strip().startswith("frame-ancestors")]
    return found


def test_by_default_only_this_sites_pages_may_frame_ours(client: TestClient) -> None:
    for path in ("/", "/landscape", "/api/v1/lessons", "/no/such/page"):
        headers = client.get(path).headers
        assert _directive(headers["content-security-policy"]) == "frame-ancestors 'self'"
        assert headers["x-frame-options"] == "SAMEORIGIN"


def test_listed_origins_may_frame_every_page_and_the_other_headers_stay(framed_by: None) -> None:
    from app.main import create_app

    with TestClient(create_app()) as client:
        for path in ("/", "/landscape", "/redoc", "/api/v1/lessons", "/no/such/page"):
            headers = client.get(path).headers
            csp = headers["content-security-policy"]
            assert _directive(csp) == f"frame-ancestors 'self' {SLIDES} {COURSE}", path
            # X-Frame-Options cannot name an origin: left out, so it cannot veto the CSP
            assert "x-frame-options" not in headers, path
            assert "script-src 'self'" in csp and "unsafe-inline" not in csp
            assert headers["x-content-type-options"] == "nosniff"
            assert headers["referrer-policy"] == "no-referrer"
            assert headers["cross-origin-opener-policy"] == "same-origin"


def test_the_headers_function_names_every_origin_once() -> None:
    headers = dict(security_headers([SLIDES]))
    assert _directive(headers["content-security-policy"]) == f"frame-ancestors 'self' {SLIDES}"
    assert "x-frame-options" not in headers
    assert dict(security_headers())["x-frame-options"] == "SAMEORIGIN"


@pytest.mark.parametrize(
    ("setting", "reason"),
    [
        ("https://slides.example.org/deck", "'https://slides.example.org/deck' is not an origin"),
        ("slides.example.org", "'slides.example.org' is not an origin"),
        ("ftp://slides.example.org", "is not an origin"),
        ("https://a.example.org,https://b.example.org/", "'https://b.example.org/' is not"),
        ("*", "'*' is not allowed"),
    ],
)
def test_a_malformed_origin_stops_start_up_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch, setting: str, reason: str
) -> None:
    with pytest.raises(ValueError, match="BPC_FRAME_ANCESTORS") as info:
        frame_ancestor_origins(setting)
    assert reason in str(info.value)

    import app.main  # noqa: F401
    from app.main import create_app
    from app.startup import problems

    monkeypatch.setenv("BPC_FRAME_ANCESTORS", setting)
    get_settings.cache_clear()
    try:
        assert any(line.startswith("BPC_FRAME_ANCESTORS: ") for line in problems())
        with pytest.raises(ValueError, match="BPC_FRAME_ANCESTORS"):
            create_app()
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()


def test_an_empty_setting_is_the_default() -> None:
    assert frame_ancestor_origins("") == frame_ancestor_origins(" , ") == []
