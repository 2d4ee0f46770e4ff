"""Teacher presets files: good JSON and YAML load; each kind of bad entry is named in the error."""

from __future__ import annotations

import json
import os
import shutil
import struct
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from app.core.limits import Limits
from app.core.presets_file import CONTAINER_UID, PresetsFileError, load_teacher_presets
from app.presets import _check_teacher_preset

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


# ---------------------------------------------------------------- issue 17, item 8: the traps

NEURON = {
    "id": "neuron",
    "title": "Neuron",
    "expression": "1 / (1 + exp(-(w0*x0 + w1*x1 + w2)))",
    "inputs": {"w0": 2, "x0": -1, "w1": -3, "x1": -2, "w2": -3},
}
# f = sum(W @ x) with W 3x2 and x = (1, -1): every row of df/dW is x, and df/dx_j is the sum of
# column j of W (1 + 3 + 5 = 9, 2 + 4 + 6 = 12); f = (1 - 2) + (3 - 4) + (5 - 6) = -3.
MATRIX = {
    "id": "matrix",
    "title": "sum(W @ x)",
    "expression": "sum(W @ x)",
    "inputs": {"W": [[1, 2], [3, 4], [5, 6]], "x": [1, -1]},
}


def _load_checked(tmp_path: Path, entry: dict, limits: Limits | None = None) -> list[dict]:
    path = _write(tmp_path, "p.json", json.dumps([entry]))
    return load_teacher_presets(
        path, check=lambda preset: _check_teacher_preset(preset, limits), limits=limits
    )


def test_expected_compares_with_the_documented_default_tolerance(tmp_path: Path) -> None:
    """sigmoid(1) = 0.7310585786300049: four digits are refused by the default 1e-9, and the
    message names the tolerance and the way to change it."""
    with pytest.raises(PresetsFileError) as info:
        _load_checked(tmp_path, {**NEURON, "expected": {"output": 0.7311}})
    message = str(info.value)
    assert "entry 0 (id 'neuron'): expected output 0.7311, but the circuit gives 0.73105857" in (
        message
    )
    assert "tolerance 1e-09 × max(1, |expected|)" in message and "expected.tolerance" in message
    # within 1e-9 relative: accepted without a tolerance
    _load_checked(tmp_path, {**NEURON, "expected": {"output": 0.7310585786}})


def test_expected_tolerance_accepts_the_digits_written(tmp_path: Path) -> None:
    # |0.7311 - 0.73105858| = 4.1e-5 <= 1e-4; dx0 = 0.3932238664829637 to four digits
    expected = {"output": 0.7311, "grads": {"x0": 0.3932}, "tolerance": 1e-4}
    [preset] = _load_checked(tmp_path, {**NEURON, "expected": expected})
    assert preset["expected"] == expected
    # 0.7312 is 1.4e-4 away: still refused at 1e-4, naming that tolerance
    with pytest.raises(PresetsFileError, match=r"0\.7312, .* tolerance 0\.0001 "):
        _load_checked(tmp_path, {**NEURON, "expected": {**expected, "output": 0.7312}})


@pytest.mark.parametrize(
    ("tolerance", "message"),
    [
        (0, "expected tolerance must be above 0 and at most 0.5 (a relative tolerance), got 0.0"),
        (-1e-3, "expected tolerance must be above 0"),
        (2, "expected tolerance must be above 0 and at most 0.5"),
        ("1e-4", "expected tolerance must be a number, got str"),
    ],
)
def test_a_bad_tolerance_is_named(tmp_path: Path, tolerance: object, message: str) -> None:
    with pytest.raises(PresetsFileError) as info:
        _load_checked(tmp_path, {**NEURON, "expected": {"output": 0.7311, "tolerance": tolerance}})
    assert f"entry 0 (id 'neuron'): {message}" in str(info.value)


def test_tensor_inputs_and_tensor_expected_gradients_load(tmp_path: Path) -> None:
    expected = {"output": -3, "grads": {"W": [[1, -1], [1, -1], [1, -1]], "x": [9, 12]}}
    [preset] = _load_checked(tmp_path, {**MATRIX, "expected": expected})
    assert preset["inputs"] == {"W": [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], "x": [1.0, -1.0]}
    assert preset["expected"]["grads"]["x"] == [9.0, 12.0]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"inputs": {"W": [[1], [3, 4]], "x": [1, -1]}},
            "input 'W' is ragged: rows at depth 2 have lengths [1, 2]",
        ),
        ({"inputs": {"W": [[1, "2"]], "x": [1, -1]}}, "input 'W' contains str, not a number"),
        ({"inputs": {"W": [[1, 2], []], "x": [1, -1]}}, "input 'W' is ragged"),
        ({"inputs": {"W": [[[[1]]]], "x": [1]}}, "input 'W' has more than 3 dimensions"),
        (
            {"expected": {"grads": {"x": [9, 12, 0]}}},
            "expected grad x with shape [3], but the circuit gives shape [2]",
        ),
        (
            {"expected": {"grads": {"x": [9, 13]}}},
            "expected grad x = [9.0, 13.0], but the circuit gives [9.0, 12.0]",
        ),
        ({"expected": {"grads": {"q": 1}}}, "expected grad q, but q is not an input"),
        ({"expected": {"grads": {"x": [[1], [2, 3]]}}}, "expected grad 'x' is ragged"),
    ],
)
def test_bad_tensors_are_named_as_the_api_names_them(
    tmp_path: Path, change: dict, message: str
) -> None:
    with pytest.raises(PresetsFileError) as info:
        _load_checked(tmp_path, {**MATRIX, **change})
    assert f"entry 0 (id 'matrix'): {message}" in str(info.value)


def test_tensor_inputs_are_held_to_the_configured_limits(
    tmp_path: Path, use_presets_file, monkeypatch: pytest.MonkeyPatch
) -> None:
    """W has 6 elements: refused by a limit of 5 (the setting named), as a request would be,
    and by the server's start-up when BPC_MAX_TENSOR_ELEMENTS_PER_INPUT says so."""
    with pytest.raises(PresetsFileError) as info:
        _load_checked(tmp_path, MATRIX, Limits().but(max_tensor_elements_per_input=5))
    assert "input 'W' element count is 6, over the limit of 5 (setting " in str(info.value)
    assert len(_load_checked(tmp_path, MATRIX, Limits().but(max_tensor_elements_per_input=6)))

    from app.main import create_app

    path = _write(tmp_path, "limited.json", json.dumps([MATRIX]))
    monkeypatch.setenv("BPC_MAX_TENSOR_ELEMENTS_PER_INPUT", "5")
    use_presets_file(path)
    with pytest.raises(PresetsFileError, match="BPC_MAX_TENSOR_ELEMENTS_PER_INPUT"):
        create_app()


def _load_as_container_user(path: Path) -> str:
    """The loader's error for `path`, read as uid 10001 (the image's user). Tests run as root,
    which reads any file whatever its mode, so a forked child drops to that uid first."""
    if os.geteuid() != 0:  # already an ordinary user: the mode bits apply as they are
        try:
            load_teacher_presets(path)
        except PresetsFileError as exc:
            return str(exc)
        return "loaded"
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover (the child reports through the pipe)
        os.close(read)
        message = "loaded"
        try:
            os.setgid(CONTAINER_UID)
            os.setuid(CONTAINER_UID)
            load_teacher_presets(path)
        except PresetsFileError as exc:
            message = str(exc)
        except BaseException as exc:  # noqa: BLE001 - anything else is reported, not raised
            message = f"unexpected {exc!r}"
        os.write(write, message.encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        message = pipe.read().decode()
    os.waitpid(child, 0)
    return message


def test_a_file_the_server_cannot_read_says_so_and_how_to_fix_it() -> None:
    folder = Path(tempfile.mkdtemp(prefix="h17d-presets-"))
    try:
        folder.chmod(0o755)  # the folder is open; only the file's mode stops the reader
        path = _write(folder, "presets.yaml", "- {id: a, title: t, expression: x, inputs: {x: 1}}")
        path.chmod(0o000)
        message = _load_as_container_user(path)
        assert f"presets file {path}: cannot read it: permission denied for uid " in message
        assert "it is mode 000, owner uid " in message
        assert f"container's user is uid {CONTAINER_UID}" in message
        assert "chmod 644" in message
        path.chmod(0o644)  # the fix the message gives
        assert _load_as_container_user(path) == "loaded"
    finally:
        shutil.rmtree(folder)


def test_a_directory_in_place_of_the_file_is_named(tmp_path: Path) -> None:
    """What `docker run -v` mounts when the host file does not exist: an empty directory."""
    with pytest.raises(PresetsFileError) as info:
        load_teacher_presets(tmp_path)
    assert "cannot read it: it is a directory, not a file" in str(info.value)
    assert "check the path on the host" in str(info.value)


def test_the_guides_example_file_loads_and_matches(tmp_path: Path) -> None:
    """docs/deploy.md "Your own presets": its YAML loads and its expected numbers (four digits,
    tolerance 0.0001, and a tensor's gradients) pass the start-up check."""
    guide = (Path(__file__).parent.parent / "docs" / "deploy.md").read_text(encoding="utf-8")
    section = guide.split("### Your own presets", 1)[1]
    example = section.split("```yaml\n", 1)[1].split("```", 1)[0]
    path = _write(tmp_path, "presets.yaml", example)
    presets = load_teacher_presets(path, check=_check_teacher_preset)
    assert [p["id"] for p in presets] == ["my_neuron", "my_layer"]
    assert presets[0]["expected"]["tolerance"] == 1e-4
    assert presets[1]["inputs"]["W"] == [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]


def test_yaml_exponent_without_a_dot_is_text_and_the_message_says_so(tmp_path: Path) -> None:
    """PyYAML (YAML 1.1) reads 1e-4 as the string '1e-4'; 1.0e-4 is a number."""
    entry = (
        "- {id: a, title: t, expression: x, inputs: {x: 1}, expected: {output: 1, tolerance: %s}}"
    )
    with pytest.raises(PresetsFileError) as info:
        load_teacher_presets(_write(tmp_path, "p.yaml", entry % "1e-4"))
    assert "got str '1e-4' (YAML reads 1e-4 as text: write it with a dot, 1.0e-4, or 0.0001)" in (
        str(info.value)
    )
    [preset] = load_teacher_presets(_write(tmp_path, "p.yaml", entry % "1.0e-4"))
    assert preset["expected"]["tolerance"] == 1e-4


def test_a_tensor_preset_with_a_tolerance_is_served(tmp_path: Path, use_presets_file) -> None:
    """GET /api/v1/presets answers the teacher's tensors and expected values as written."""
    from fastapi.testclient import TestClient

    from app.main import create_app

    expected = {"output": -3, "grads": {"W": [[1, -1], [1, -1], [1, -1]]}, "tolerance": 1e-4}
    use_presets_file(_write(tmp_path, "p.json", json.dumps([{**MATRIX, "expected": expected}])))
    with TestClient(create_app()) as client:
        response = client.get("/api/v1/presets")
    assert response.status_code == 200, response.text[:300]
    [mine] = [p for p in response.json()["presets"] if p["id"] == "matrix"]
    assert mine["inputs"] == {"W": [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], "x": [1.0, -1.0]}
    assert mine["expected"]["output"] == -3.0
    assert mine["expected"]["gradients"]["W"] == [[1.0, -1.0], [1.0, -1.0], [1.0, -1.0]]
    assert mine["expected"]["tolerance"] == 1e-4


def _deny_container_user(path: Path) -> None:
    """A POSIX ACL entry that refuses uid 10001 while the mode still reads 644: what an SELinux
    label does to a container, made here without SELinux (ext4 and tmpfs keep such ACLs)."""

    def entry(tag: int, perm: int, uid: int = 0xFFFFFFFF) -> bytes:
        return struct.pack("<HHI", tag, perm, uid)

    user_obj, user, group_obj, mask, other = 0x01, 0x02, 0x04, 0x10, 0x20
    acl = struct.pack("<I", 2) + entry(user_obj, 6) + entry(user, 0, CONTAINER_UID)
    acl += entry(group_obj, 4) + entry(mask, 4) + entry(other, 4)
    os.setxattr(path, "system.posix_acl_access", acl)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to read the file as uid 10001")
def test_a_readable_mode_that_is_still_refused_points_at_selinux() -> None:
    folder = Path(tempfile.mkdtemp(prefix="h17d-presets-"))
    try:
        folder.chmod(0o755)
        path = _write(folder, "presets.yaml", "- {id: a, title: t, expression: x, inputs: {x: 1}}")
        path.chmod(0o644)
        try:
            _deny_container_user(path)
        except OSError as exc:  # a file system without POSIX ACLs
            pytest.skip(f"no POSIX ACLs here: {exc}")
        message = _load_as_container_user(path)
        assert "permission denied for uid 10001" in message
        assert (
            "although its mode 644 lets everyone read it: on an SELinux host, mount it" in message
        )
        assert ":ro,Z" in message and "chmod 644" not in message
    finally:
        shutil.rmtree(folder)
