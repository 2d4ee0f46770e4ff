"""Limits as one value: built from Settings by field name, defaults only there, picklable jobs."""

from __future__ import annotations

import ast
import inspect
import pickle
from dataclasses import fields
from pathlib import Path

import pytest

from app.core.config import Settings
from app.core.limits import Limits, derived
from app.engine import evaluate, evaluate_job, parse_limits
from app.engine.inputs import bind_inputs, coerce_value
from app.engine.shapes import infer_shapes
from app.landscape import jobs
from app.schemas.landscape import CircuitRequest, LossRequest, OptimizeRequest, SliceRequest

APP = Path(__file__).resolve().parent.parent / "app"


def test_every_limit_is_a_settings_field_with_its_default() -> None:
    settings = Settings()
    for f in fields(Limits):
        assert f.name in Settings.model_fields, f.name
        assert getattr(Limits(), f.name) == getattr(settings, f.name), f.name


def test_every_size_setting_is_in_limits() -> None:
    names = {f.name for f in fields(Limits)}
    server = {"max_body_bytes", "max_in_flight", "max_connections"}  # the server's, per process
    sizes = {n for n in Settings.model_fields if n.startswith("max_") and n not in server}
    sizes |= {"gradcheck_max_evals"}
    assert sizes - names == set()


def test_limits_follow_settings_and_env(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Limits.from_settings(Settings(max_gates=7)).max_gates == 7
    monkeypatch.setenv("BPC_MAX_WORK", "12345")
    assert Limits.from_settings(Settings()).max_work == 12345


def test_engine_takes_one_limits_value_and_repeats_no_default() -> None:
    params = inspect.signature(evaluate).parameters
    assert list(params) == [
        "expression",
        "inputs",
        "output_grad",
        "tie_break",
        "gradcheck_",
        "h",
        "limits",
    ]
    for fn in (bind_inputs, coerce_value, infer_shapes):
        for p in inspect.signature(fn).parameters.values():
            if p.name.startswith("max_") or p.name == "limits":
                assert p.default is inspect.Parameter.empty, (fn.__name__, p.name)


def test_every_limit_error_names_a_settings_field() -> None:
    """Each LimitError(what, got, limit, setting, ...) in app/ names a real Settings field (so
    its message names BPC_<FIELD>); the one computed name is Cost.check's, over its three."""
    computed = 0
    for path in APP.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.Call) and getattr(node.func, "id", "") == "LimitError"):
                continue
            setting = node.args[3] if len(node.args) > 3 else None
            for kw in node.keywords:
                if kw.arg == "setting":
                    setting = kw.value
            assert setting is not None, f"{path}:{node.lineno}"
            if isinstance(setting, ast.Constant):
                assert setting.value in Settings.model_fields, f"{path}:{node.lineno}"
            else:
                computed += 1
    assert computed >= 1
    for name in ("max_work", "max_answer_bytes", "max_memory_bytes"):
        assert name in Settings.model_fields


def test_jobs_and_their_arguments_pickle() -> None:
    limits = Limits().but(max_work=10**9)
    assert pickle.loads(pickle.dumps(limits)) == limits
    toy = {"dataset": {"name": "toy-2d"}, "seed": 3}
    requests = [
        (jobs.compute_loss, LossRequest(**toy)),
        (jobs.compute_slice, SliceRequest(**toy, steps=5)),
        (jobs.compute_optimizer_path, OptimizeRequest(**toy, steps=3)),
        (jobs.compute_loss_circuit, CircuitRequest(dataset={"name": "cs231n-1d"})),
    ]
    for job, request in requests:
        job2, request2, limits2 = pickle.loads(pickle.dumps((job, request, limits)))
        assert job2 is job and request2 == request
        assert job2(request2, limits2) == job(request, limits)
    body = {"expression": "(x + y) * z", "inputs": {"x": -2, "y": 5, "z": -4}}
    job2, body2 = pickle.loads(pickle.dumps((evaluate_job, body)))
    answer = job2(body2, limits)
    # the notes' example: f = (x + y) z = 3 * -4; df/dx = df/dy = z, df/dz = x + y
    assert answer["output"]["value"] == -12.0
    assert answer["gradients"] == {"x": -4.0, "y": -4.0, "z": 3.0}


def test_with_work_at_most_lowers_max_work_only_and_is_remembered() -> None:
    limits = Limits().but(max_work=1000)
    assert limits.with_work_at_most(1000) is limits  # not higher: itself
    assert limits.with_work_at_most(5000) is limits
    capped = limits.with_work_at_most(999)
    assert capped.max_work == 999
    assert {f.name: getattr(capped, f.name) for f in fields(Limits) if f.name != "max_work"} == {
        f.name: getattr(limits, f.name) for f in fields(Limits) if f.name != "max_work"
    }
    assert limits.with_work_at_most(999) is capped  # the same copy on every request
    assert limits.with_work_at_most(10).max_work == 10
    # other Limits, equal or not, get their own copy
    other = Limits().but(max_work=1000)
    assert other.with_work_at_most(999) is not capped
    assert other.with_work_at_most(999) == capped
    assert Limits().but(max_work=2000, max_gates=7).with_work_at_most(999).max_gates == 7


def test_derived_values_are_made_once_per_limits_object_and_key() -> None:
    made: list[str] = []

    def build(tag: str) -> str:
        made.append(tag)
        return tag

    a, b = Limits(), Limits()
    assert derived(a, "k", lambda: build("a")) == "a"
    assert derived(a, "k", lambda: build("again")) == "a"  # remembered
    assert derived(a, "other", lambda: build("a2")) == "a2"  # another key
    assert derived(b, "k", lambda: build("b")) == "b"  # equal Limits, another object
    assert made == ["a", "a2", "b"]
    assert parse_limits(a) is parse_limits(a)
    assert parse_limits(a.but(max_gates=3)).max_gates == 3
