"""The console script, and a wheel installed on its own that serves the pages."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import httpx
import pytest

from app.cli import main
from tests.live_app import free_port, uvicorn_command, wait_until_up

ROOT = Path(__file__).resolve().parent.parent


def test_eval_prints_every_wire(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", "(x + y) * z", "x=-2", "y=5", "z=-4"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].split() == ["node", "kind", "wire", "value", "grad"]
    assert lines[2].split() == ["n0", "input", "x", "-2.0", "-4.0"]
    assert "output = -12.0" in out
    assert "multiply gate swaps" in out


def test_eval_json_matches_the_api(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", "max(z, w)", "z=1", "w=1", "--tie-break", "first", "--json"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert body["gradients"] == {"z": 1.0, "w": 0.0}


def test_eval_reports_parse_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", "x ^ 2", "x=1"]) == 2
    err = capsys.readouterr().err
    assert "use **" in err and "line 1, col 3" in err


# What the wheel is built from: pyproject.toml names these (packages, package-dir, readme).
WHEEL_SOURCES = ("pyproject.toml", "README.md", "app", "static", "templates")


@pytest.mark.slow
def test_wheel_install_serves_pages_outside_the_source_tree(tmp_path: Path) -> None:
    """The built wheel, installed on its own, serves every page and static file.

    It runs on the interpreter that runs the tests (a virtualenv or the system Python alike):
    the wheel goes into a --target folder, and the server runs with only that folder on
    PYTHONPATH and its working directory outside the source tree, so `app` must come from the
    wheel while fastapi and uvicorn come from the interpreter's own environment.
    """
    # build from a copy, so the shared checkout gets no build/ or egg-info from this test
    source = tmp_path / "source"
    for name in WHEEL_SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(
                ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__")
            )
        else:
            source.mkdir(exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    wheel_dir = tmp_path / "wheel"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run(
        [*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(wheel_dir), str(source)],
        check=True,
        cwd=tmp_path,
    )
    wheel = next(wheel_dir.glob("backprop_circuits-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "app/_templates/circuit.html" in names
    # the built-in lessons, read beside the package (app/lessons/registry.py)
    lessons = sorted(p.name for p in (ROOT / "app" / "lessons" / "builtin").glob("*.md"))
    assert lessons and all(f"app/lessons/builtin/{name}" in names for name in lessons)
    assert any(n.startswith("app/_static/js/") for n in names)
    target = tmp_path / "installed"
    subprocess.run(
        [*pip, "install", "--no-deps", "--target", str(target), str(wheel)],
        check=True,
        cwd=tmp_path,
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": str(target), "OMP_NUM_THREADS": "1"}

    where = subprocess.run(
        [
            sys.executable,
            "-c",
            "import app.main, app.core.paths as p; "
            "print(app.main.__file__); print(p.STATIC_DIR); print(p.TEMPLATES_DIR)",
        ],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    module, static_dir, templates_dir = where.stdout.split()
    assert Path(module).is_relative_to(target / "app"), module
    assert Path(static_dir) == target / "app" / "_static"
    assert Path(templates_dir) == target / "app" / "_templates"

    port = free_port()
    log = tmp_path / "server.log"
    with log.open("wb") as err:
        server = subprocess.Popen(
            uvicorn_command(port), cwd=elsewhere, env=env, stdout=subprocess.DEVNULL, stderr=err
        )
        base = f"http://127.0.0.1:{port}"
        try:
            wait_until_up(f"{base}/healthz", server, log, timeout=60)
            lesson = httpx.get(f"{base}/api/v1/lessons/intuitions-simple", timeout=10)
            assert lesson.status_code == 200 and lesson.json()["steps"]
            for path in ("/", "/landscape", "/lessons", "/lessons/intuitions-simple"):
                page = httpx.get(base + path, timeout=10)
                assert page.status_code == 200 and "<html" in page.text.lower(), path
                assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', page.text)
                assert assets, path
                for asset in assets:
                    served = httpx.get(base + asset, timeout=10)
                    assert served.status_code == 200, asset
                    shipped = ROOT / asset.removeprefix("/").split("?")[0]
                    assert served.content == shipped.read_bytes(), asset
            # every ES module the pages import, byte for byte as in the source tree
            for module_file in sorted((ROOT / "static" / "js").rglob("*.js")):
                url = "/" + module_file.relative_to(ROOT).as_posix()
                served = httpx.get(base + url, timeout=10)
                assert served.status_code == 200, url
                assert served.content == module_file.read_bytes(), url
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


def test_every_app_package_is_listed_for_the_wheel() -> None:
    import tomllib

    listed = set(
        tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    )
    found = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for init in (ROOT / "app").rglob("__init__.py")
    }
    assert found <= listed, found - listed
