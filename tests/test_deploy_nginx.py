"""deploy/nginx.conf for real: Debian's nginx balancing two app processes on loopback."""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import pytest

from tests.live_app import ROOT, free_port, running_app
from tests.test_error_envelope import check_envelope

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def _test_config(upstreams: list[str], port: int, prefix: Path) -> str:
    """deploy/nginx.conf with the compose-only parts swapped for loopback ones."""
    conf = (ROOT / "deploy" / "nginx.conf").read_text()
    servers = "\n".join(
        f"        server {u.removeprefix('http://')} max_fails=3 fail_timeout=5s;"
        for u in upstreams
    )
    conf, n_upstream = re.subn(r"^\s*server app:8000 [^\n]*;", servers, conf, flags=re.M)
    conf, n_listen = re.subn(r"^(\s*)listen 80;", rf"\1listen 127.0.0.1:{port};", conf, flags=re.M)
    assert n_upstream == 1 and n_listen == 1, "deploy/nginx.conf no longer has the expected lines"
    conf, n_log = re.subn(r"access_log /dev/stdout", f"access_log {prefix}/access.log", conf)
    assert n_log == 1, "deploy/nginx.conf no longer logs to /dev/stdout"
    conf = conf.replace("error_log /dev/stderr warn;", f"error_log {prefix}/error.log warn;")
    temp_paths = "".join(
        f"    {kind}_temp_path {prefix}/{kind};\n"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    conf = conf.replace("http {\n", "http {\n" + temp_paths, 1)
    return f"daemon off;\npid {prefix}/nginx.pid;\n" + conf


@contextmanager
def running_nginx(upstreams: list[str]) -> Iterator[str]:
    """deploy/nginx.conf on a free loopback port in front of `upstreams`; yields its base URL
    once it answers (anything: with no upstream up, that is its own 502)."""
    if not Path(NGINX).exists():
        pytest.fail("nginx not found: install Debian's nginx-light (see .ci/run)")
    with tempfile.TemporaryDirectory() as tmp:
        prefix = Path(tmp)
        port = free_port()
        conf = prefix / "nginx.conf"
        conf.write_text(_test_config(upstreams, port, prefix))
        check = subprocess.run(
            [NGINX, "-t", "-c", str(conf), "-p", str(prefix)], capture_output=True
        )
        assert check.returncode == 0, check.stderr.decode()
        proc = subprocess.Popen(
            [NGINX, "-c", str(conf), "-p", str(prefix)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 10
            while True:
                try:
                    httpx.get(f"{base}/healthz", timeout=1)
                    break
                except httpx.HTTPError:
                    pass
                assert proc.poll() is None, (prefix / "error.log").read_text()
                assert time.monotonic() < deadline, "nginx did not answer"
                time.sleep(0.1)
            yield base
        finally:
            proc.terminate()
            proc.wait(timeout=10)


@pytest.fixture(scope="module")
def balancer() -> Iterator[tuple[str, list[str]]]:
    """nginx on a free loopback port in front of two app processes (instance ids a and b)."""
    with ExitStack() as stack:
        apps = [
            stack.enter_context(running_app({"BPC_INSTANCE_ID": name}))
            for name in ("app-a", "app-b")
        ]
        base = stack.enter_context(running_nginx(apps))
        deadline = time.monotonic() + 10
        while httpx.get(f"{base}/healthz", timeout=1).status_code != 200:
            assert time.monotonic() < deadline, "the replicas did not answer through nginx"
            time.sleep(0.1)
        yield base, apps


def test_requests_reach_both_replicas(balancer: tuple[str, list[str]]) -> None:
    base, _ = balancer
    with httpx.Client(base_url=base) as client:
        instances = [client.get("/healthz").headers["x-instance"] for _ in range(20)]
    assert set(instances) == {"app-a", "app-b"}
    assert 5 <= instances.count("app-a") <= 15


def test_pages_work_through_the_balancer(balancer: tuple[str, list[str]]) -> None:
    base, _ = balancer
    with httpx.Client(base_url=base) as client:
        for path in ("/", "/landscape", "/docs", "/redoc"):
            response = client.get(path)
            assert response.status_code == 200, path
            assert response.headers["content-type"].startswith("text/html")
            assert "frame-ancestors 'self';" in response.headers["content-security-policy"]
        script = client.get("/static/docs/swagger-init.js")
        assert script.status_code == 200 and "SwaggerUIBundle" in script.text


def test_circuit_api_works_through_the_balancer(balancer: tuple[str, list[str]]) -> None:
    base, _ = balancer
    body = {"expression": "(x + y) * z", "inputs": {"x": -2, "y": 5, "z": -4}}
    with httpx.Client(base_url=base) as client:
        replies = [client.post("/api/v1/circuits/evaluate", json=body) for _ in range(4)]
    assert {r.headers["x-instance"] for r in replies} == {"app-a", "app-b"}
    for reply in replies:
        assert reply.status_code == 200
        result = reply.json()
        assert result["output"]["value"] == -12.0
        assert result["gradients"] == {"x": -4.0, "y": -4.0, "z": 3.0}


def test_landscape_api_works_through_the_balancer(balancer: tuple[str, list[str]]) -> None:
    base, _ = balancer
    body = {"dataset": {"name": "cs231n-1d"}, "seed": 3}
    reply = httpx.post(f"{base}/api/v1/landscape/loss", json=body)
    assert reply.status_code == 200
    assert len(reply.json()["per_example"]) == 3


def test_edge_request_id_reaches_the_app_and_bad_input_stays_4xx(
    balancer: tuple[str, list[str]],
) -> None:
    base, _ = balancer
    reply = httpx.post(
        f"{base}/api/v1/circuits/evaluate", json={"expression": "x ^ 2", "inputs": {"x": 1}}
    )
    assert reply.status_code == 422
    assert "use **" in reply.json()["detail"][0]["msg"]
    # nginx's $request_id (32 hex digits) is what the app logs and echoes
    assert re.fullmatch(r"[0-9a-f]{32}", reply.headers["x-request-id"])
    too_big = httpx.post(
        f"{base}/api/v1/circuits/evaluate",
        content=b"x" * 1_100_000,
        headers={"content-type": "application/json"},
    )
    assert too_big.status_code == 413


def _nginx_limit_bytes() -> int:
    """client_max_body_size as deploy/nginx.conf sets it (in m, k or bytes)."""
    conf = (ROOT / "deploy" / "nginx.conf").read_text()
    number, unit = re.search(r"client_max_body_size (\d+)([km]?);", conf).groups()  # type: ignore[union-attr]
    return int(number) * {"": 1, "k": 1024, "m": 1024**2}[unit]


def test_nginx_own_413_is_the_apps_error_envelope(balancer: tuple[str, list[str]]) -> None:
    base, _ = balancer
    limit = _nginx_limit_bytes()
    too_big = httpx.post(
        f"{base}/api/v1/circuits/evaluate",
        content=b"x" * (limit + 1),
        headers={"content-type": "application/json"},
    )
    assert too_big.status_code == 413
    assert "x-instance" not in too_big.headers  # refused by nginx, not by a replica
    body = check_envelope(too_big)
    (problem,) = body["detail"]
    assert problem["type"] == "limit_exceeded"
    assert problem["limit"] == limit
    assert problem["request_id"] == too_big.headers["x-request-id"]
    assert too_big.headers["x-content-type-options"] == "nosniff"


def test_nginx_own_400_and_414_are_the_apps_error_envelope(
    balancer: tuple[str, list[str]],
) -> None:
    base, _ = balancer
    # both over nginx's default large_client_header_buffers (8 KB a line)
    too_long = httpx.get(f"{base}/api/v1/gates?q=" + "a" * 20_000)
    assert too_long.status_code == 414
    assert check_envelope(too_long)["detail"][0]["type"] == "bad_http_request"
    huge_header = httpx.get(f"{base}/api/v1/gates", headers={"x-junk": "a" * 20_000})
    assert huge_header.status_code == 400
    assert "x-instance" not in huge_header.headers
    assert check_envelope(huge_header)["detail"][0]["type"] == "bad_http_request"


def test_with_every_replica_down_nginx_answers_502_in_the_envelope() -> None:
    # an upstream address where nothing listens: each connection is refused, as for a replica
    # that has stopped
    with socket.socket() as placeholder:
        placeholder.bind(("127.0.0.1", 0))
        dead = f"127.0.0.1:{placeholder.getsockname()[1]}"
    with running_nginx([dead]) as base:
        for request in (
            httpx.Request("GET", f"{base}/api/v1/gates"),
            httpx.Request("POST", f"{base}/api/v1/circuits/evaluate", json={"expression": "x"}),
        ):
            with httpx.Client() as client:
                answer = client.send(request)
            assert answer.status_code == 502
            body = check_envelope(answer)
            (problem,) = body["detail"]
            assert problem["type"] == "upstream_unavailable"
            assert re.fullmatch(r"[0-9a-f]{32}", problem["request_id"])
            assert problem["request_id"] == answer.headers["x-request-id"]
