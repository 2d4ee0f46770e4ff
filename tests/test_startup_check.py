"""Start-up that fails fast (issue 17): `backprop-circuits check` and `serve` read the settings,
the BPC_ variables, the CORS origins and the presets file before any worker is forked, and stop
with exit 1 naming each problem. Run as the real command, in a child process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.startup import unknown_variables
from tests.live_app import ROOT, free_port


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    # only the variables a test gives, plus what Python needs: no BPC_ setting leaks in
    base = {k: v for k, v in os.environ.items() if not k.startswith("BPC_")}
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        cwd=ROOT,
        env={**base, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_misspelled_setting_is_named_with_the_nearest_one() -> None:
    result = run_cli("check", env={"BPC_MAX_GATE": "5"})
    assert result.returncode == 1
    assert result.stderr == (
        "backprop-circuits: BPC_MAX_GATE is not a setting (did you mean BPC_MAX_GATES?): "
        "it would be ignored\n"
    )


def test_a_setting_that_does_not_parse_is_named_with_its_value() -> None:
    result = run_cli("check", env={"BPC_MAX_GATES": "lots"})
    assert result.returncode == 1
    assert "BPC_MAX_GATES: Input should be a valid integer" in result.stderr
    assert "(got 'lots')" in result.stderr


def test_a_ready_environment_passes() -> None:
    result = run_cli("check", env={"BPC_MAX_GATES": "500", "BPC_CHROMIUM": "/usr/bin/chromium"})
    assert result.returncode == 0, result.stderr
    assert "ready" in result.stdout


def test_a_bad_cors_origin_is_named() -> None:
    result = run_cli("check", env={"BPC_CORS_ORIGINS": '["https://course.example.org/"]'})
    assert result.returncode == 1
    assert "'https://course.example.org/' is not an origin" in result.stderr


def test_serve_with_two_workers_and_a_broken_presets_file_exits_once_naming_the_entry(
    tmp_path: Path,
) -> None:
    # before: each worker failed on import and was respawned forever (issue 17, item 8)
    presets = tmp_path / "presets.json"
    presets.write_text('[{"id": "mine", "title": "Mine", "expression": "x *", "inputs": {"x": 1}}]')
    result = run_cli(
        "serve",
        "--workers",
        "2",
        "--port",
        str(free_port()),
        env={"BPC_PRESETS_FILE": str(presets)},
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0] == (
        f"backprop-circuits: BPC_PRESETS_FILE: presets file {presets}: entry 0 (id 'mine'): "
        "line 1, col 4: the expression ends early: an operand is missing"
    )


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"BPC_MAX_GATES": "1"}, []),
        ({"BPC_CHROMIUM": "/x", "BPC_REFERENCE": "/y", "PATH": "/bin"}, []),
        (
            {"BPC_JOB_DEADLINE": "3"},
            [
                "BPC_JOB_DEADLINE is not a setting (did you mean BPC_JOB_DEADLINE_S?): it would be ignored"
            ],
        ),
        ({"BPC_COLOUR": "red"}, ["BPC_COLOUR is not a setting: it would be ignored"]),
    ],
)
def test_unknown_variables(environ: dict[str, str], expected: list[str]) -> None:
    assert unknown_variables(environ) == expected
