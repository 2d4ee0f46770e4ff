"""Shared fixtures: the reference numbers and an HTTP client on the app."""

from __future__ import annotations

import atexit
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

ROOT = Path(__file__).resolve().parent.parent

# The suite sends from one address ("testclient", or 127.0.0.1 to a live server) far more
# landscape and large-circuit work a minute than any student, so the per-client compute budget
# (app/api/budget.py) is off unless a test turns it on: tests/test_client_budget.py does, with
# its own numbers. Set here, before any Settings exist, so live servers inherit it too.
os.environ.setdefault("BPC_COMPUTE_SECONDS_PER_CLIENT_PER_MINUTE", "0")
# Classes the suite starts (tests/test_class_*.py pick their own store) go to a file of the
# session's, not to the default data/class.db under the working directory. The folder is
# removed when the process that made it exits (not when a process forked from it does, as
# mutmut's workers are: they share it).
if "BPC_STORE" not in os.environ:
    _store_dir = tempfile.mkdtemp(prefix="bpc-test-store-")
    os.environ["BPC_STORE"] = f"sqlite:///{_store_dir}/class.db"
    _maker = os.getpid()

    def _remove_store_dir() -> None:
        if os.getpid() == _maker:
            shutil.rmtree(_store_dir, ignore_errors=True)

    atexit.register(_remove_store_dir)
_REFERENCE_CANDIDATES = [
    Path(os.environ.get("BPC_REFERENCE", "")),
    ROOT.parent / "shared" / "reference" / "cs231n_examples.json",
    ROOT / "tests" / "data" / "cs231n_examples.json",
]


@pytest.fixture(scope="session")
def reference() -> dict[str, Any]:
    """The CS231n reference numbers (float64), from ../shared or the copy in tests/data."""
    for path in _REFERENCE_CANDIDATES:
        if path.is_file():
            return json.loads(path.read_text())
    pytest.fail("reference file cs231n_examples.json not found")


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    from app.main import app

    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture(autouse=True)
def _fresh_caption_recipes() -> None:
    """Each test renders the caption recipes it needs (app/engine/encode.py keeps them between
    answers): recipes left by an earlier test, or by mutmut's parent process, would spare the
    rendering code, and a fault in it would reach no test."""
    from app.engine.encode import _RECIPES

    _RECIPES.clear()
