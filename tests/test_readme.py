"""The README's two commands: what scripts/readme_command.py extracts and what .ci/run runs."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from scripts.readme_command import MARKERS, command

ROOT = Path(__file__).resolve().parent.parent
CI = ROOT / ".ci" / "run"


def block_after(text: str, marker: str) -> str:
    """The README's fenced block after a marker, read line by line (not with the script's regex)."""
    lines = text.splitlines()
    at = lines.index(marker)
    rest = lines[at + 1 :]
    while rest and not rest[0].strip():
        rest.pop(0)
    assert rest[0] in ("```sh", "```bash", "```"), f"no code block right after {marker}"
    end = rest.index("```", 1)
    return "\n".join(rest[1:end]).strip()


def test_readme_commands_are_what_the_script_extracts() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    for which, marker in MARKERS.items():
        assert text.count(marker) == 1, marker
        assert command(which) == block_after(text, marker), which
    assert command("run") == "python3 -m pip install . && backprop-circuits serve"
    test = command("test")
    assert "\n" not in test
    assert test.startswith("python3 -m pip install -e '.[test]' && ")
    for part in ("ruff check .", "ruff format --check .", "mypy", "python3 -m pytest"):
        assert f"&& {part}" in test, part


def test_script_prints_each_command() -> None:
    for which in MARKERS:
        printed = subprocess.run(
            [sys.executable, str(ROOT / "scripts" / "readme_command.py"), which],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert printed == command(which) + "\n"


def test_script_refuses_a_readme_without_the_block(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("<!-- test-command -->\nSome prose, then a block.\n\n```sh\nmake\n```\n")
    with pytest.raises(SystemExit, match="no code block right after <!-- test-command -->"):
        command("test", readme)
    readme.write_text("no markers at all\n")
    with pytest.raises(SystemExit, match="must hold <!-- run-command --> exactly once"):
        command("run", readme)


def test_ci_takes_the_test_command_from_the_readme_rather_than_a_copy() -> None:
    ci = CI.read_text(encoding="utf-8")
    assert os.access(CI, os.X_OK)
    assert "$(python3 scripts/readme_command.py test)" in ci
    assert command("test") not in ci
    commands = [line for line in ci.splitlines() if not line.lstrip().startswith(("#", "echo"))]
    assert not any("pytest" in line for line in commands)  # no test run of its own
    assert "bash ../shared/tools/docker-check.sh ." in ci


def ci_copy(tmp_path: Path, test_command: str, installed: tuple[str, ...]) -> tuple[Path, Path]:
    """.ci/run and the script in a scratch repo whose README's test command is `test_command`,
    with a PATH holding only what .ci/run needs, the `installed` Debian tools as stubs, and an
    apt-get that records its arguments instead of installing."""
    repo = tmp_path / "repo"
    (repo / ".ci").mkdir(parents=True)
    (repo / "scripts").mkdir()
    shutil.copy2(CI, repo / ".ci" / "run")
    shutil.copy2(ROOT / "scripts" / "readme_command.py", repo / "scripts" / "readme_command.py")
    (repo / "README.md").write_text(
        "<!-- run-command -->\n```sh\ntrue\n```\n\n"
        f"<!-- test-command -->\n```sh\n{test_command}\n```\n"
    )
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("bash", "dirname"):
        found = shutil.which(tool)
        assert found is not None, tool
        (bin_dir / tool).symlink_to(found)
    apt_log = tmp_path / "apt.log"
    stubs = {
        "python3": f'exec "{sys.executable}" "$@"',
        "apt-get": f'echo "$@" >> "{apt_log}"',
        **{tool: "exit 0" for tool in installed},
    }
    if "npm" in installed:  # records what .ci/run asks of npm
        stubs["npm"] = f'echo "$@" >> "{tmp_path / "npm.log"}"'

    for name, body in stubs.items():
        stub = bin_dir / name
        stub.write_text(f"#!/bin/sh\n{body}\n")
        stub.chmod(0o755)
    return repo, apt_log


def run_ci(repo: Path) -> subprocess.CompletedProcess[str]:
    bin_dir = repo.parent / "bin"
    return subprocess.run(
        [str(repo / ".ci" / "run")],
        env={"PATH": str(bin_dir), "HOME": str(repo.parent)},
        capture_output=True,
        text=True,
        timeout=60,
    )


ALL_TOOLS = ("chromium", "nginx", "redis-server")
NODE_TOOLS = ("node", "npm")  # the TypeScript client's check


def test_ci_runs_the_readme_test_command(tmp_path: Path) -> None:
    repo, apt_log = ci_copy(tmp_path, "echo ran > ran.txt", (*ALL_TOOLS, *NODE_TOOLS))
    result = run_ci(repo)
    assert result.returncode == 0, result.stderr
    assert (repo / "ran.txt").read_text() == "ran\n"  # in the repo's root, as the README says
    assert "+ echo ran > ran.txt" in result.stdout
    assert not apt_log.exists()  # everything was there: no apt-get


@pytest.mark.parametrize("missing", ALL_TOOLS)
def test_ci_installs_chromium_nginx_and_redis_when_one_is_missing(
    tmp_path: Path, missing: str
) -> None:
    installed = tuple(tool for tool in ALL_TOOLS if tool != missing)
    repo, apt_log = ci_copy(tmp_path, "true", (*installed, *NODE_TOOLS))
    result = run_ci(repo)
    assert result.returncode == 0, result.stderr
    update, install = apt_log.read_text().splitlines()
    assert update == "update -qq"
    assert set(install.split()) >= {"install", "chromium", "nginx-light", "redis-server"}


@pytest.mark.parametrize("status", [1, 2, 5])
def test_ci_fails_when_the_test_command_fails(tmp_path: Path, status: int) -> None:
    """Any failure fails CI, pytest's 5 (no tests collected) included, and says so."""
    repo, _ = ci_copy(tmp_path, f"exit {status}", (*ALL_TOOLS, *NODE_TOOLS))
    result = run_ci(repo)
    assert result.returncode == status
    assert f"FAILED: README's test command exited with {status}" in result.stderr
    assert ("collected no tests" in result.stderr) == (status == 5)


def test_ci_installs_node_and_the_pinned_client_tools(tmp_path: Path) -> None:
    """Without node, apt installs nodejs and npm; then npm ci installs the lockfile's versions."""
    repo, apt_log = ci_copy(tmp_path, "true", (*ALL_TOOLS, "npm"))
    result = run_ci(repo)
    assert result.returncode == 0, result.stderr
    update, install = apt_log.read_text().splitlines()
    assert update == "update -qq"
    assert set(install.split()) >= {"install", "nodejs", "npm"}
    npm = (tmp_path / "npm.log").read_text().split()
    assert npm[:3] == ["ci", "--prefix", "clients/typescript"]


def test_every_picture_in_the_readme_exists_and_comes_from_the_script() -> None:
    text = (ROOT / "README.md").read_text()
    pictures = re.findall(r"!\[[^\]]+\]\(([^)]+)\)", text)
    assert len(pictures) >= 3
    script = (ROOT / "scripts" / "screenshots.py").read_text()
    for picture in pictures:
        path = ROOT / picture
        assert path.is_file() and path.read_bytes().startswith(b"\x89PNG"), picture
        assert path.name in script, f"{picture} is not made by scripts/screenshots.py"
