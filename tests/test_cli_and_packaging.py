"""The console script, the README's commands, and a non-editable install that serves the pages."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import venv
import zipfile
from pathlib import Path

import pytest

from app.cli import main

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


def test_readme_starts_with_the_two_commands() -> None:
    from scripts.readme_command import command

    assert command("run") == "python3 -m pip install . && backprop-circuits serve"
    assert command("test").startswith("python3 -m pip install -e '.[test]' && ")
    assert "python3 -m pytest" in command("test")
    ci = (ROOT / ".ci" / "run").read_text()
    assert "scripts/readme_command.py test" in ci


@pytest.mark.slow
def test_wheel_install_serves_pages_outside_the_source_tree(tmp_path: Path) -> None:
    wheel_dir = tmp_path / "wheel"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(wheel_dir),
            str(ROOT),
        ],
        check=True,
        cwd=tmp_path,
    )
    wheel = next(wheel_dir.glob("backprop_circuits-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "app/_templates/circuit.html" in names
    assert any(n.startswith("app/_static/js/") for n in names)
    env_dir = tmp_path / "venv"
    venv.create(env_dir, system_site_packages=True, with_pip=False)
    python = env_dir / "bin" / "python"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "--no-deps",
            "-q",
            str(wheel),
        ],
        check=True,
        cwd=tmp_path,
    )
    script = textwrap.dedent(
        """
        import app, sys
        from fastapi.testclient import TestClient
        from app.main import app as web
        assert "site-packages" in app.__file__, app.__file__
        client = TestClient(web)
        page = client.get("/")
        assert page.status_code == 200 and "<html" in page.text.lower(), page.status_code
        css = [line for line in page.text.split('"') if line.startswith("/static/")]
        assert css and all(client.get(u).status_code == 200 for u in css), css
        print("ok", len(css))
        """
    )
    result = subprocess.run(
        [str(python), "-c", script], cwd=tmp_path, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.splitlines()[-1].startswith("ok")


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
