"""CORS as a setting (issue 17, item 2): off by default; BPC_CORS_ORIGINS lists the origins whose
pages may call the JSON API; pages and static files are never shared. Against real servers."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest

from app.api.cors import check_origins
from tests.live_app import ROOT, running_app

COURSE = "https://course.example.org"
EVALUATE = "/api/v1/circuits/evaluate"
BODY = {"expression": "x * y", "inputs": {"x": 3, "y": -2}}


@pytest.fixture(scope="module")
def shared() -> Iterator[str]:
    with running_app(env={"BPC_CORS_ORIGINS": json.dumps([COURSE, "http://localhost:8080"])}) as b:
        yield b


@pytest.fixture(scope="module")
def closed() -> Iterator[str]:
    with running_app() as base:
        yield base


def preflight(base: str, origin: str, headers: str = "content-type") -> httpx.Response:
    return httpx.options(
        base + EVALUATE,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": headers,
        },
    )


def test_an_allowed_origin_gets_the_preflight_and_reads_answers_and_errors(shared: str) -> None:
    response = preflight(shared, COURSE, "Content-Type, X-Request-Id")
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == COURSE
    assert response.headers["access-control-allow-methods"] == "GET, POST"
    assert response.headers["access-control-allow-headers"] == "content-type, x-request-id"
    assert response.headers["access-control-max-age"] == "600"
    assert response.headers["vary"] == "Origin"

    answer = httpx.post(shared + EVALUATE, json=BODY, headers={"Origin": COURSE})
    assert answer.status_code == 200
    assert answer.json()["output"]["value"] == -6.0
    assert answer.headers["access-control-allow-origin"] == COURSE
    assert "Retry-After" in answer.headers["access-control-expose-headers"]
    assert answer.headers["cross-origin-resource-policy"] == "cross-origin"
    # the other security headers stay
    assert answer.headers["x-content-type-options"] == "nosniff"

    # an error is readable too, so a course page can show where the expression is wrong
    error = httpx.post(
        shared + EVALUATE, json={**BODY, "expression": "x * * y"}, headers={"Origin": COURSE}
    )
    assert error.status_code == 422
    assert error.headers["access-control-allow-origin"] == COURSE
    assert error.json()["detail"][0]["col"] == 5


def test_an_origin_not_listed_is_refused_with_the_setting_named(shared: str) -> None:
    response = preflight(shared, "https://elsewhere.example.com")
    assert response.status_code == 403
    assert "access-control-allow-origin" not in response.headers
    problem = response.json()["detail"][0]
    assert problem["type"] == "cors_refused" and problem["setting"] == "BPC_CORS_ORIGINS"
    assert "https://elsewhere.example.com" in problem["msg"]
    answer = httpx.post(
        shared + EVALUATE, json=BODY, headers={"Origin": "https://elsewhere.example.com"}
    )
    # the server still answers (a browser then withholds it from the script)
    assert answer.status_code == 200
    assert "access-control-allow-origin" not in answer.headers
    assert answer.headers["cross-origin-resource-policy"] == "same-origin"


def test_a_header_outside_the_list_is_refused_in_the_preflight(shared: str) -> None:
    response = preflight(shared, COURSE, "content-type, authorization")
    assert response.status_code == 403
    assert "authorization" in response.json()["detail"][0]["msg"]


def test_pages_and_static_files_are_never_shared(shared: str) -> None:
    for path in ("/", "/landscape", "/static/css/circuit.css"):
        response = httpx.get(shared + path, headers={"Origin": COURSE})
        assert response.status_code == 200
        assert "access-control-allow-origin" not in response.headers
        assert response.headers["cross-origin-resource-policy"] == "same-origin"


def test_by_default_no_origin_is_allowed(closed: str) -> None:
    response = preflight(closed, COURSE)
    assert response.status_code == 403
    assert "BPC_CORS_ORIGINS" in response.json()["detail"][0]["msg"]
    answer = httpx.post(closed + EVALUATE, json=BODY, headers={"Origin": COURSE})
    assert "access-control-allow-origin" not in answer.headers


@pytest.mark.parametrize(
    "origin",
    ["https://course.example.org/", "course.example.org", "ftp://x.org", "https://x.org/path"],
)
def test_a_malformed_origin_is_refused_naming_it(origin: str) -> None:
    with pytest.raises(ValueError, match="BPC_CORS_ORIGINS") as info:
        check_origins([origin])
    assert repr(origin) in str(info.value)


def test_a_malformed_origin_stops_start_up_with_the_reason() -> None:
    env = {"BPC_CORS_ORIGINS": json.dumps(["https://course.example.org/"]), "PATH": "/usr/bin"}
    result = subprocess.run(
        [sys.executable, "-c", "import app.main"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "BPC_CORS_ORIGINS: 'https://course.example.org/' is not an origin" in result.stderr
