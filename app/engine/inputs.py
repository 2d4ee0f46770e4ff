"""Checks and converts the input values a request sends: finite numbers or nested lists of them."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from app.core.errors import LimitError, Problem, ProblemError
from app.engine.circuit import Circuit


def coerce_value(name: str, value: Any, max_rank: int, max_elements: int) -> Any:
    """A float for a number, a float64 array for a (rectangular) nested list; else a 422."""
    # the usual inputs: a finite float is taken as it is; a JSON integer, as most typed inputs
    # are (the course's x = -2), is converted when it is within ±2**53 (exactly a float64,
    # finite). Anything else takes the checks below.
    kind = type(value)
    if kind is float:
        if math.isfinite(value):
            return value
    elif kind is int and -_EXACT_INT <= value <= _EXACT_INT:
        return float(value)
    loc = ("body", "inputs", name)
    if type(value) is bool or not isinstance(value, int | float | list):
        raise ProblemError(
            Problem(
                f"input '{name}' must be a number or a nested list of numbers, "
                f"not {type(value).__name__}",
                type="type_error",
                loc=loc,
            )
        )
    if not isinstance(value, list):
        if type(value) is int and not _fits_float(value):
            raise ProblemError(Problem(_too_large(name, ""), loc=loc))
        number = float(value)
        if not math.isfinite(number):
            raise ProblemError(Problem(f"input '{name}' must be finite", loc=loc))
        return number
    shape, flat = _walk(name, value, max_rank, max_elements, loc)
    for i, x in enumerate(flat):
        if type(x) is int and not _fits_float(x):
            index = [int(k) for k in np.unravel_index(i, shape)]
            raise ProblemError(Problem(_too_large(name, f" at index {index}"), loc=(*loc, *index)))
    array = np.asarray(flat, dtype=np.float64).reshape(shape)
    if not bool(np.isfinite(array).all()):
        raise ProblemError(Problem(f"input '{name}' contains a non-finite number", loc=loc))
    return array


_EXACT_INT = 2**53  # every int up to this magnitude is a float64 exactly


def _fits_float(x: int) -> bool:
    """Whether a JSON integer converts to float64 (Python ints are unbounded; 1e400 is not)."""
    try:
        float(x)
    except OverflowError:
        return False
    return True


def _too_large(name: str, where: str) -> str:
    return f"input '{name}' has an integer{where} beyond the float64 range (about ±1.8e308)"


def _walk(
    name: str, value: list[Any], max_rank: int, max_elements: int, loc: tuple[str, ...]
) -> tuple[tuple[int, ...], list[float]]:
    """Shape and flat elements of a nested list, iteratively; rejects ragged and empty lists."""
    shape: list[int] = []
    level: list[Any] = [value]
    while level and isinstance(level[0], list):
        if len(shape) >= max_rank:
            raise ProblemError(
                Problem(
                    f"input '{name}' has more than {max_rank} dimensions "
                    "(setting BPC_MAX_TENSOR_RANK)",
                    loc=loc,
                )
            )
        lengths = {len(item) if isinstance(item, list) else -1 for item in level}
        if -1 in lengths:
            raise ProblemError(
                Problem(
                    f"input '{name}' mixes numbers and lists at depth {len(shape) + 1}", loc=loc
                )
            )
        if len(lengths) != 1:
            raise ProblemError(
                Problem(
                    f"input '{name}' is ragged: rows at depth {len(shape) + 1} have "
                    f"lengths {sorted(lengths)[:5]}",
                    loc=loc,
                )
            )
        length = lengths.pop()
        if length == 0:
            raise ProblemError(Problem(f"input '{name}' has an empty dimension", loc=loc))
        total = len(level) * length
        if total > max_elements:
            # 422, as for any other malformed input: the body was read and names the input.
            raise LimitError(
                f"input '{name}' element count",
                total,
                max_elements,
                "max_tensor_elements_per_input",
                loc=loc,
                status=422,
            )
        shape.append(length)
        level = [x for item in level for x in item]
    for x in level:
        if type(x) is bool or not isinstance(x, int | float):
            raise ProblemError(
                Problem(
                    f"input '{name}' contains {type(x).__name__}, not a number",
                    type="type_error",
                    loc=loc,
                )
            )
    return tuple(shape), level


def bind_inputs(
    circuit: Circuit, given: dict[str, Any], max_rank: int, max_elements: int
) -> dict[str, Any]:
    """Matches the request's inputs to the circuit's: every one given, none extra."""
    needed = circuit.input_names
    missing = [name for name in needed if name not in given]
    extra = [name for name in given if name not in needed]
    problems = []
    if missing:
        problems.append(
            Problem(
                f"missing values for input{'s' if len(missing) > 1 else ''} {', '.join(missing)}",
                type="missing_input",
                loc=("body", "inputs"),
                extra={"names": missing},
            )
        )
    if extra:
        problems.append(
            Problem(
                f"the expression does not use input{'s' if len(extra) > 1 else ''} "
                f"{', '.join(extra[:20])}",
                type="unused_input",
                loc=("body", "inputs"),
                extra={"names": extra[:20]},
            )
        )
    if problems:
        raise ProblemError(*problems)
    return {name: coerce_value(name, given[name], max_rank, max_elements) for name in needed}
