"""Teacher presets files: good JSON and YAML load; each kind of bad entry is named in the error."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from app.core.presets_file import PresetsFileError, load_teacher_presets

GOOD = {
    "id": "my_neuron",
    "title": "A neuron from class",
    "description": "w0*x0 + w1*x1 + w2 through a sigmoid",
    "expression": "1 / (1 + exp(-(w0*x0 + w1*x1 + w2)))",
    "inputs": {"w0": 2, "x0": -1, "w1": -3, "x1": -2, "w2": -3},
    "expected": {"output": 0.7310585786300049, "grads": {"x0": 0.3932238664829637}},
}


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_json_list_loads_with_floats_and_teacher_source(tmp_path: Path) -> None:
    path = _write(tmp_path, "p.json", json.dumps([GOOD]))
    [preset] = load_teacher_presets(path)
    assert preset["id"] == "my_neuron"
    assert preset["inputs"] == {"w0": 2.0, "x0": -1.0, "w1": -3.0, "x1": -2.0, "w2": -3.0}
    assert preset["expected"]["output"] == pytest.approx(0.7310585786300049)
    assert preset["source"] == "teacher"


def test_yaml_mapping_with_presets_key_loads(tmp_path: Path) -> None:
    text = """
presets:
  - id: add-mul
    title: "(x + y) * z"
    expression: (x + y) * z
    inputs: {x: -2, y: 5, z: -4}
  - id: second
    title: Second
    expression: x * x
    inputs: {x: 3}
"""
    presets = load_teacher_presets(_write(tmp_path, "p.yaml", text))
    assert [p["id"] for p in presets] == ["add-mul", "second"]
    assert presets[0]["inputs"] == {"x": -2.0, "y": 5.0, "z": -4.0}
    assert presets[1]["description"] == ""


BAD_ENTRIES = [
    ({"title": "t", "expression": "x"}, "entry 1: 'id' must be"),
    ({**GOOD, "id": "Bad Id"}, "entry 1 (id 'Bad Id'): 'id' must be"),
    ({**GOOD, "id": "b", "title": ""}, "entry 1 (id 'b'): 'title' must be a non-empty string"),
    ({**GOOD, "id": "b", "expression": 3}, "entry 1 (id 'b'): 'expression' must be"),
    ({**GOOD, "id": "b", "inputs": [1, 2]}, "entry 1 (id 'b'): 'inputs' must be a mapping"),
    ({**GOOD, "id": "b", "inputs": {"x": True}}, "input 'x' must be a number, got bool"),
    ({**GOOD, "id": "b", "inputs": {"x": "1.5"}}, "input 'x' must be a number, got str"),
    ({**GOOD, "id": "b", "inputs": {"x-y": 1}}, "input name 'x-y' is not an ASCII identifier"),
    ({**GOOD, "id": "b", "inputs": {"ｘ": 1}}, "is not an ASCII identifier"),
    ({**GOOD, "id": "b", "colour": "red"}, "entry 1 (id 'b'): unknown field(s) colour"),
    ({**GOOD, "id": "b", "expected": {"loss": 1}}, "'expected' must be a mapping"),
    ({**GOOD, "id": "b", "title": "t" * 201}, "'title' is 201 characters, over 200"),
    ({**GOOD}, "entry 1 (id 'my_neuron'): duplicate id"),
    ("just a string", "entry 1 must be a mapping, got str"),
]


@pytest.mark.parametrize(("entry", "message"), BAD_ENTRIES)
def test_bad_entry_is_named(tmp_path: Path, entry: object, message: str) -> None:
    path = _write(tmp_path, "p.json", json.dumps([GOOD, entry]))
    with pytest.raises(PresetsFileError) as info:
        load_teacher_presets(path)
    assert message in str(info.value)
    assert str(path) in str(info.value)


def test_non_finite_numbers_are_refused_in_json_and_yaml(tmp_path: Path) -> None:
    json_path = _write(
        tmp_path, "p.json", '[{"id": "a", "title": "t", "expression": "x", "inputs": {"x": NaN}}]'
    )
    with pytest.raises(PresetsFileError, match="NaN is not allowed"):
        load_teacher_presets(json_path)
    yaml_path = _write(tmp_path, "p.yml", "- {id: a, title: t, expression: x, inputs: {x: .inf}}")
    with pytest.raises(PresetsFileError, match=r"entry 0 \(id 'a'\): input 'x' must be finite"):
        load_teacher_presets(yaml_path)


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("p.json", "[{", "not valid JSON/YAML"),
        ("p.yaml", "a: [1, 2", "not valid JSON/YAML"),
        ("p.yaml", "id: a\ntitle: t\n", "expected a list of presets"),
        ("p.json", "", "not valid JSON/YAML"),
    ],
)
def test_unusable_file_is_a_clear_error(tmp_path: Path, name: str, text: str, message: str) -> None:
    with pytest.raises(PresetsFileError, match=message):
        load_teacher_presets(_write(tmp_path, name, text))


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(PresetsFileError, match="cannot read it"):
        load_teacher_presets(tmp_path / "absent.yaml")


def test_check_callback_failure_names_the_entry(tmp_path: Path) -> None:
    def check(preset: dict) -> None:
        if "exp" in preset["expression"]:
            raise ValueError("unknown function exp")

    path = _write(tmp_path, "p.json", json.dumps([GOOD]))
    with pytest.raises(PresetsFileError, match=r"entry 0 \(id 'my_neuron'\): unknown function exp"):
        load_teacher_presets(path, check=check)


@pytest.fixture
def use_presets_file(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[Path], None]]:
    """Points BPC_PRESETS_FILE at a file for the app built next; restores the settings after."""
    import app.main  # noqa: F401  (builds the module-level app now, with the default settings)
    from app.core.config import get_settings

    def use(path: Path) -> None:
        monkeypatch.setenv("BPC_PRESETS_FILE", str(path))
        get_settings.cache_clear()

    yield use
    monkeypatch.undo()
    get_settings.cache_clear()


def test_good_file_is_served_by_the_presets_endpoint(tmp_path: Path, use_presets_file) -> None:
    from fastapi.testclient import TestClient

    from app.main import create_app

    path = _write(tmp_path, "p.json", json.dumps([GOOD]))
    use_presets_file(path)
    with TestClient(create_app()) as client:
        presets = client.get("/api/v1/presets").json()["presets"]
    mine = [p for p in presets if p["id"] == "my_neuron"]
    assert len(mine) == 1 and mine[0]["title"] == "A neuron from class"
    assert any(p["id"] == "add_mul" for p in presets)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({**GOOD, "expression": "x0 ^ 2"}, "use **"),
        ({**GOOD, "inputs": {"w0": 2}}, "missing values for input"),
        ({**GOOD, "expected": {"output": 0.5}}, "expected output 0.5, but the circuit gives 0.73"),
        ({**GOOD, "expected": {"grads": {"x0": 1.0}}}, "expected grad x0 = 1.0"),
        ({**GOOD, "id": "add_mul"}, "this id is a built-in preset's"),
    ],
)
def test_bad_file_stops_start_up_naming_the_entry(
    tmp_path: Path, use_presets_file, entry: dict, message: str
) -> None:
    from app.main import create_app

    path = _write(tmp_path, "p.json", json.dumps([entry]))
    use_presets_file(path)
    with pytest.raises(PresetsFileError) as info:
        create_app()
    assert f"entry 0 (id '{entry['id']}')" in str(info.value)
    assert message in str(info.value)
