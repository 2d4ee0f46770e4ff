"""The readiness probe reflects readiness (issue 17, item 10): 200 when the compute lanes are up,
503 with the reasons when the job processes cannot start, while liveness and small circuits,
computed in the server process, still answer. Real servers."""

from __future__ import annotations

import time

import httpx

from tests.live_app import running_app


def test_a_started_server_is_ready() -> None:
    with running_app() as base:
        response = httpx.get(base + "/readyz")
        assert response.status_code == 200
        assert response.json() == {"status": "ready"}


def test_job_processes_that_cannot_start_make_the_server_not_ready() -> None:
    # Real job processes that die while starting: the pool's preload names a module that does
    # not exist, so each child fails its imports, as a broken install would.
    from dataclasses import replace

    from fastapi.testclient import TestClient

    from app.api.pool import HeavyPool, PoolConfig
    from app.core.config import get_settings
    from app.main import create_app

    app = create_app()
    with TestClient(app) as client:
        assert client.get("/readyz").json() == {"status": "ready"}
        compute = app.state.compute
        config = replace(PoolConfig.from_settings(get_settings()), workers=1)
        broken = HeavyPool(config, preload=("app.no_such_module_for_this_test",))
        client.portal.call(broken.start)  # on the app's event loop
        working, compute.heavy = compute.heavy, broken
        try:
            deadline = time.monotonic() + 120  # a bound on waiting, not an assertion on time
            response = client.get("/readyz")
            while response.status_code == 200 and time.monotonic() < deadline:
                time.sleep(0.2)
                response = client.get("/readyz")
            assert response.status_code == 503
            body = response.json()
            assert body["status"] == "not ready"
            [reason] = body["reasons"]
            assert reason.startswith("landscape jobs: its job processes die while starting (")
            assert reason.endswith(" in a row)")
            # alive, and what needs no job process still works
            assert client.get("/healthz").status_code == 200
            small = client.post(
                "/api/v1/circuits/evaluate",
                json={"expression": "(x + y) * z", "inputs": {"x": -2, "y": 5, "z": -4}},
            )
            assert small.status_code == 200 and small.json()["output"]["value"] == -12
        finally:
            compute.heavy = working
            client.portal.call(broken.shutdown)
        assert client.get("/readyz").status_code == 200


def test_a_stopping_pool_is_not_ready() -> None:
    from fastapi.testclient import TestClient

    from app.main import create_app

    app = create_app()
    with TestClient(app) as client:
        client.portal.call(app.state.compute.bulk.shutdown)
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["reasons"] == ["large circuits: shutting down"]
