"""A TypeScript client generated from /openapi.json compiles calls to every endpoint, answers
and errors included (issue 17's "done when"): openapi-typescript, then tsc --strict; and the
document passes Redocly's recommended lint rules."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from app.main import create_app

CLIENT = Path(__file__).resolve().parent.parent / "clients" / "typescript"
BIN = CLIENT / "node_modules" / ".bin"
INSTALL = "npm ci --prefix clients/typescript (.ci/run does it)"

pytestmark = pytest.mark.slow


def tool(name: str) -> str:
    """The pinned tool from clients/typescript, installed from the lock file on first use (so
    README's test command needs nothing more than node and npm); missing is a failure, never
    a skip."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.fail(f"node and npm are not installed (apt-get install nodejs npm), then {INSTALL}")
    path = BIN / name
    if not path.exists():
        run("npm", "ci", "--no-audit", "--no-fund", cwd=CLIENT)
    if not path.exists():
        pytest.fail(f"{path} is missing after npm ci: run {INSTALL}")
    return str(path)


def run(*command: str, cwd: Path) -> None:
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{' '.join(command)}\n{done.stdout}\n{done.stderr}"


def test_the_tools_are_pinned_exactly() -> None:
    package = json.loads((CLIENT / "package.json").read_text())
    lock = json.loads((CLIENT / "package-lock.json").read_text())
    for name, version in package["devDependencies"].items():
        assert re.fullmatch(r"\d+\.\d+\.\d+", version), (name, version)
        assert lock["packages"][f"node_modules/{name}"]["version"] == version


def generate(directory: Path, calls: str) -> subprocess.CompletedProcess[str]:
    """Types from the app's /openapi.json, then `calls` type-checked against them."""
    (directory / "openapi.json").write_text(json.dumps(create_app().openapi()))
    # --default-non-nullable false: a request field with a default stays optional to send
    run(
        tool("openapi-typescript"),
        "openapi.json",
        "--default-non-nullable",
        "false",
        "-o",
        "schema.d.ts",
        cwd=directory,
    )
    shutil.copy(CLIENT / "tsconfig.json", directory / "tsconfig.json")
    (directory / "calls.ts").write_text(calls)
    return subprocess.run(
        [tool("tsc"), "--noEmit", "--strict", "-p", "tsconfig.json"],
        cwd=directory,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_a_generated_client_compiles_calls_to_every_endpoint(tmp_path: Path) -> None:
    calls = (CLIENT / "calls.ts").read_text()
    done = generate(tmp_path, calls)
    assert done.returncode == 0, done.stdout + done.stderr
    spec = json.loads((tmp_path / "openapi.json").read_text())
    for methods in spec["paths"].values():
        for operation in methods.values():
            operation_id = operation["operationId"]
            assert re.search(rf'\b(get|post|send)\("{operation_id}"', calls), operation_id


def test_the_check_fails_on_a_call_that_does_not_fit(tmp_path: Path) -> None:
    """The same check, with one misspelt answer field in calls.ts, does not compile."""
    right = "const dW: number[][] = loss.data.grad_W;"
    calls = (CLIENT / "calls.ts").read_text()
    assert right in calls
    done = generate(tmp_path, calls.replace(right, right.replace("grad_W", "grad_w")))
    assert done.returncode != 0 and "'grad_w' does not exist" in done.stdout


def lint(directory: Path, spec: dict) -> subprocess.CompletedProcess[str]:
    tool("tsc")  # node and the pinned packages are there
    (directory / "openapi.json").write_text(json.dumps(spec))
    return subprocess.run(
        ["node", str(CLIENT / "lint.mjs"), str(directory / "openapi.json")],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_document_passes_redoclys_recommended_rules(tmp_path: Path) -> None:
    spec = create_app().openapi()
    done = lint(tmp_path, spec)
    assert done.returncode == 0, done.stdout + done.stderr
    # the same linter refuses a document that lacks what the rules ask for
    del spec["info"]["license"]
    done = lint(tmp_path, spec)
    assert done.returncode == 1 and "info-license" in done.stdout
