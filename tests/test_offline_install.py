"""The install without Docker and without the package index that docs/deploy.md gives (issue 17,
item 9): a wheelhouse made on a machine with the index, then `pip install --no-index` from it in
a fresh virtual environment, which then checks, evaluates and serves the pages."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx
import pytest

from tests.live_app import ROOT, free_port, wait_until_up

pytestmark = pytest.mark.slow


def run(*args: str | Path, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, timeout=900, env=env
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    return result.stdout


def test_a_wheelhouse_installs_and_serves_with_no_index() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        wheels, venv = Path(tmp) / "wheelhouse", Path(tmp) / "venv"
        # on the machine with the index (docs/deploy.md, "Without Docker, offline")
        run(sys.executable, "-m", "pip", "wheel", "-q", "--wheel-dir", wheels, ROOT)
        assert any(w.name.startswith("numpy-") for w in wheels.iterdir())
        # in the classroom: no index at all
        run(sys.executable, "-m", "venv", venv)
        run(
            venv / "bin" / "pip",
            "install",
            "-q",
            "--no-index",
            "--find-links",
            wheels,
            "backprop-circuits",
        )
        clean = {k: v for k, v in os.environ.items() if not k.startswith(("BPC_", "PYTHON"))}
        cli = venv / "bin" / "backprop-circuits"
        assert "ready" in run(cli, "check", env=clean)
        table = run(cli, "eval", "(x + y) * z", "x=-2", "y=5", "z=-4", env=clean)
        assert "output = -12.0" in table
        port = free_port()
        log = Path(tmp) / "server.log"
        with log.open("wb") as err:
            server = subprocess.Popen(
                [cli, "serve", "--port", str(port)], cwd=tmp, env=clean, stdout=err, stderr=err
            )
        try:
            base = f"http://127.0.0.1:{port}"
            wait_until_up(base + "/healthz", server, log, timeout=120)
            assert httpx.get(base + "/").status_code == 200
            answer = httpx.post(
                base + "/api/v1/circuits/evaluate",
                json={"expression": "(x + y) * z", "inputs": {"x": -2, "y": 5, "z": -4}},
            ).json()
            assert answer["gradients"] == {"x": -4.0, "y": -4.0, "z": 3.0}
        finally:
            server.terminate()
            server.wait(timeout=30)
