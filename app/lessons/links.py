"""The two pages' links (what the address bar holds after the host): read, checked and written as the pages write them."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, quote_plus, urlsplit

from app.core.choices import names
from app.landscape.data import DATASETS
from app.landscape.losses import LOSSES, SVM_VARIANTS
from app.landscape.optimize import OPTIMIZERS

# The pages' URL-state tables (static/js/circuit/state.js, static/js/landscape/state.js), as
# (name, URL key, kind, allowed values). A lesson's view names a field by either; the link is
# checked here so a typo fails when the lesson loads, not silently in a student's browser.
_BOOL = ("0", "1", "true", "false")


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    key: str
    kind: str  # string | json | num | int | bool | enum | nums | matrix
    values: tuple[str, ...] = ()


CIRCUIT_FIELDS = (
    Field("expression", "e", "string"),
    Field("inputs", "in", "json"),
    Field("outputGrad", "g", "num"),
    Field("tieBreak", "tie", "enum", ("split", "first")),
    Field("step", "s", "int"),
    Field("speed", "sp", "num"),
    Field("predict", "p", "bool"),
    Field("gradcheck", "gc", "bool"),
    Field("collapse", "c", "bool"),
    Field("present", "present", "bool"),
    Field("view", "v", "nums"),
)


def _landscape_fields() -> tuple[Field, ...]:
    def f(name: str, kind: str, values: tuple[str, ...] = ()) -> Field:
        return Field(name, name, kind, values)

    return (
        f("view", "enum", ("1d", "2d")),
        f("dataset", "enum", (*names(DATASETS), "custom")),
        f("n", "int"),
        f("d", "int"),
        f("c", "int"),
        f("dseed", "int"),
        f("csv", "string"),
        f("bias", "bool"),
        f("winit", "enum", ("seed", "zeros", "table")),
        f("wseed", "int"),
        f("W", "matrix"),
        f("loss", "enum", names(LOSSES)),
        f("variant", "enum", names(SVM_VARIANTS)),
        f("delta", "num"),
        f("reg", "num"),
        f("dir", "enum", ("axis", "random")),
        f("axc", "int"),
        f("axd", "int"),
        f("rseed", "int"),
        f("lo", "num"),
        f("hi", "num"),
        f("steps", "int"),
        f("grid", "int"),
        f("li", "bool"),
        f("terms", "bool"),
        f("ca", "num"),
        f("cb", "num"),
        f("method", "enum", (*names(OPTIMIZERS), "none")),
        f("lr", "num"),
        f("batch", "int"),
        f("psteps", "int"),
        f("pseed", "int"),
        f("pstep", "int"),
    )


LANDSCAPE_FIELDS = _landscape_fields()
PAGES = {"circuit": "/", "landscape": "/landscape"}
# Keys a page reads from its query that are not view state (the chromeless mode of ?embed=1):
# a link copied from an embedded page is still a good link, without them.
_PAGE_ONLY = {"embed"}
_INT = re.compile(r"[-+]?\d+")


class LinkError(ValueError):
    """A view's link or field cannot be used; the message says why."""


@dataclass(frozen=True, slots=True)
class CircuitState:
    """What a circuit link says: the expression, its inputs, and the other fields as text."""

    expression: str
    inputs: dict[str, Any]
    fields: dict[str, str]


def _fields_of(page: str) -> tuple[Field, ...]:
    return CIRCUIT_FIELDS if page == "circuit" else LANDSCAPE_FIELDS


def field_named(page: str, name: str) -> Field | None:
    """The page's field whose name or URL key is `name`."""
    return next((f for f in _fields_of(page) if name in (f.name, f.key)), None)


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) and text.strip() == text and text else None


def check_text(field: Field, text: str) -> None:
    """Raises LinkError when `text` is not a value the page would read for `field` (the page
    silently falls back to the default, which would show the student another view)."""
    where = (
        f"field {field.key!r} ({field.name})" if field.key != field.name else f"field {field.key!r}"
    )
    if field.kind == "num" and _number(text) is None:
        raise LinkError(f"{where} must be a finite number, got {text!r:.60}")
    if field.kind == "int" and not _INT.fullmatch(text):
        raise LinkError(f"{where} must be a whole number, got {text!r:.60}")
    if field.kind == "bool" and text not in _BOOL:
        raise LinkError(f"{where} must be 1 or 0, got {text!r:.60}")
    if field.kind == "enum" and text not in field.values:
        raise LinkError(f"{where} must be one of {', '.join(field.values)}, got {text!r:.60}")
    if field.kind == "nums":
        parts = text.split(",")
        if len(parts) != 3 or any(_number(p) is None for p in parts):
            raise LinkError(f"{where} must be three numbers 'scale,x,y', got {text!r:.60}")
    if field.kind == "matrix":
        rows = [row.split(",") for row in text.split(";")]
        if any(len(r) != len(rows[0]) for r in rows) or any(
            _number(x) is None for r in rows for x in r
        ):
            raise LinkError(f"{where} must be rows of numbers, '1,2;3,4', got {text!r:.60}")
    if field.kind == "json":
        inputs_from_text(text)
    if field.key == "s" and int(text) < 0:
        raise LinkError(f"{where} must be 0 or more, got {text}")


def inputs_from_text(text: str) -> dict[str, Any]:
    """The circuit link's `in`: a JSON object of input name to number (or nested lists)."""
    try:
        value = json.loads(text, parse_constant=_no_constant)
    except ValueError as exc:
        raise LinkError(f"field 'in' (inputs) is not JSON: {exc}") from None
    except RecursionError:
        raise LinkError("field 'in' (inputs) is nested too deeply") from None
    if not isinstance(value, dict):
        raise LinkError("field 'in' (inputs) must be a JSON object of input name to number")
    return value


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def split_link(link: str) -> tuple[str, dict[str, str]]:
    """The page ("circuit" or "landscape") and the state's fields, by URL key, of a link such
    as "/#e=(x+%2B+y)+*+z" or "/landscape?view=2d&loss=svm" (or the same with a host)."""
    parts = urlsplit(link.strip())
    if parts.scheme not in ("", "http", "https"):
        raise LinkError(f"a view link must be a page's address, not a {parts.scheme}: link")
    page = next((name for name, path in PAGES.items() if path == (parts.path or "/")), None)
    if page is None:
        raise LinkError(
            f"a view link's path must be one of the pages ({', '.join(PAGES.values())}), "
            f"got {parts.path!r:.80}"
        )
    state_text = parts.fragment if page == "circuit" else parts.query
    if page == "circuit" and parts.query:
        extra = {k for k, _ in parse_qsl(parts.query, keep_blank_values=True)} - _PAGE_ONLY
        if extra:
            raise LinkError(
                "the circuit page keeps its state in the link's hash (/#e=...), not its query: "
                f"got ?{parts.query:.60}"
            )
    if page == "landscape" and parts.fragment:
        raise LinkError("the landscape page keeps its state in the link's query (?view=...)")
    # URLSearchParams' reading: '+' is a space, %XX escapes are UTF-8, and of a repeated key
    # the page reads the first value
    fields: dict[str, str] = {}
    try:
        pairs = parse_qsl(state_text, keep_blank_values=True, errors="strict")
    except UnicodeDecodeError:
        raise LinkError("the link has a %-escape that is not UTF-8 text") from None
    for key, value in pairs:
        if page == "landscape" and key in _PAGE_ONLY:
            continue
        field = next((f for f in _fields_of(page) if f.key == key), None)
        if field is None:
            known = ", ".join(f.key for f in _fields_of(page))
            raise LinkError(f"the {page} page has no field {key!r:.40} (its fields: {known})")
        fields.setdefault(key, value)
    for key, text in fields.items():
        field = field_named(page, key)
        assert field is not None
        check_text(field, text)
    return page, fields


def circuit_state(link: str) -> CircuitState:
    """A circuit link's expression and inputs (LinkError when it is another page's, or has
    no expression)."""
    page, fields = split_link(link)
    if page != "circuit":
        raise LinkError(f"this is a {page} page link; a circuit link starts with /#e=")
    expression = fields.get("e", "")
    if not expression.strip():
        raise LinkError("the circuit link has no expression (its field 'e')")
    inputs = inputs_from_text(fields["in"]) if "in" in fields else {}
    return CircuitState(expression, inputs, fields)


def _js_number(value: float | int) -> str:
    """A number as JavaScript's String() writes it, so a link matches the page's own."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if value == int(value) and abs(value) < 1e21:
        return "-0" if value == 0 and math.copysign(1, value) < 0 else str(int(value))
    text = repr(value)
    if "e" in text:
        mantissa, exponent = text.split("e")
        sign = "-" if exponent.startswith("-") else "+"
        text = f"{mantissa}e{sign}{int(exponent.lstrip('+-'))}"
    return text


def json_text(value: Any) -> str:
    """JSON.stringify's text of a lesson's inputs (no spaces, numbers as JavaScript writes them)."""
    if isinstance(value, dict):
        return (
            "{" + ",".join(f"{json.dumps(str(k))}:{json_text(v)}" for k, v in value.items()) + "}"
        )
    if isinstance(value, list):
        return "[" + ",".join(json_text(v) for v in value) + "]"
    if isinstance(value, int | float):
        return _js_number(value)
    return json.dumps(value)


def value_text(field: Field, value: Any) -> str:
    """A lesson's YAML value of a field, as the page writes it in its link."""
    if field.kind == "json":
        return json_text(value)
    if field.kind == "bool" and isinstance(value, bool):
        return "1" if value else "0"
    if field.kind == "nums" and isinstance(value, list):
        return ",".join(_js_number(v) for v in value)
    if field.kind == "matrix" and isinstance(value, list):
        return ";".join(",".join(_js_number(x) for x in row) for row in value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _js_number(value)
    return str(value)


def _encode(text: str) -> str:
    # URLSearchParams' serializer: a space is '+', and only * - . _ and ASCII letters and digits
    # stay as they are ('~' too is escaped, unlike Python's quote_plus).
    return quote_plus(text, safe="*").replace("~", "%7E")


def build_link(page: str, fields: dict[str, str]) -> str:
    """The page's address with these fields (URL key -> text), in the page's table order."""
    order = [f.key for f in _fields_of(page) if f.key in fields]
    params = "&".join(f"{key}={_encode(fields[key])}" for key in order)
    if page == "circuit":
        return f"/#{params}" if params else "/"
    return f"/landscape?{params}" if params else "/landscape"
