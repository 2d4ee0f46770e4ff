"""Number formatting for captions, and JSON-safe encoding of float64 arrays (RFC 8259 has no NaN)."""

from __future__ import annotations

import math
from contextvars import ContextVar
from typing import Any

import numpy as np

NON_FINITE = {math.inf: "Infinity", -math.inf: "-Infinity"}


def json_number(x: float) -> float | str:
    """A float as JSON allows it: non-finite values become "Infinity", "-Infinity" or "NaN"."""
    if x != x:
        return "NaN"
    if x in NON_FINITE:
        return NON_FINITE[x]
    return x


def to_json(value: Any) -> Any:
    """A 0-d array or float to a JSON number; a tensor to nested lists of JSON numbers."""
    if isinstance(value, float):
        return json_number(value)
    array = np.asarray(value, dtype=np.float64)
    if array.ndim == 0:
        return json_number(float(array))
    if bool(np.isfinite(array).all()):
        return array.tolist()
    return _nested(array.tolist())


def _nested(items: Any) -> Any:
    if isinstance(items, list):
        return [_nested(item) for item in items]
    return json_number(items)


# While the compact encoder renders a caption (app/engine/encode.py), fmt records each number
# it writes and puts a placeholder in the text instead: the k-th number is NUMBER_MARK + k (a
# private-use character; a caption may format its numbers in another order than it writes
# them), past the last placeholder NUMBER_OVERFLOW. So a caption's template and its numbers
# come apart without searching the text. A context variable: evaluate jobs run on threads.
NUMBER_MARK = 0xF000
NUMBER_OVERFLOW = "\uf8ff"
captured_numbers: ContextVar[list[Any] | None] = ContextVar("captured_numbers", default=None)


class Ref(float):
    """A step's number standing for itself in a caption recipe (encode.py): it compares and
    computes as its float, but fmt captures the Ref itself, so the encoder learns which of the
    step's numbers (`code`: its upstream, output, an input, a local gradient or a
    contribution) each placeholder is, and can fill the recipe from another step's numbers."""

    __slots__ = ("code",)
    code: int


def fmt(x: Any) -> str:
    """A short human number for captions: 4 significant digits, no trailing zeros, no '-0'."""
    # the usual case inline: a float whose 4 digits need no exponent (9999.5 rounds to 1e4)
    text = f"{x:.4g}" if type(x) is float and 1e-4 <= abs(x) < 9999.5 else _fmt(x)
    captured = captured_numbers.get()
    if captured is None:
        return text
    captured.append(x if type(x) is Ref else text)
    mark = NUMBER_MARK + len(captured) - 1
    return chr(mark) if mark < ord(NUMBER_OVERFLOW) else NUMBER_OVERFLOW


def fmt_bytes(x: float) -> bytes:
    """fmt(x) for a plain float, never captured, as UTF-8 (ASCII) bytes: the verbose answer's
    templates fill a caption's numbers with it (app/engine/answer_templates.py)."""
    return b"%.4g" % x if 1e-4 <= abs(x) < 9999.5 else _fmt(x).encode()


def _fmt(x: Any) -> str:
    if isinstance(x, float):  # a Ref too
        v = float(x)
    else:
        array = np.asarray(x, dtype=np.float64)
        if array.ndim > 0:
            return "(" + "×".join(str(d) for d in array.shape) + ")"
        v = float(array)
    if v != v:
        return "NaN"
    if math.isinf(v):
        return "Infinity" if v > 0 else "-Infinity"
    if v == 0:
        return "0"
    text = f"{v:.4g}"
    at = text.find("e")
    if at >= 0:  # 1e+30 → 1e30, 1.5e-05 → 1.5e-5
        text = text[: at + 1] + _EXPONENTS[text[at + 1 :]]
    return text


# %g's exponents (a sign and at least two digits) as fmt writes them: the whole float64 range.
_EXPONENTS = {f"{e:+03d}": str(e) for e in range(-400, 400)}
