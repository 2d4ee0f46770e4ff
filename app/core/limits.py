"""Limits: every size and cost limit as one frozen value, built from Settings by field name."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass, fields, replace
from typing import Any, TypeVar, cast

from app.core.config import Settings
from app.core.errors import LimitError

_FIELDS = Settings.model_fields
T = TypeVar("T")


def _default(name: str) -> Any:
    """Settings' own default for a field: the one place a limit's value is written."""
    return _FIELDS[name].default


@dataclass(frozen=True, slots=True)
class Limits:
    """What the engine and the landscape may spend on one request. Each field has the name of
    the Settings field (and so of its BPC_ variable) it comes from; the defaults are Settings'
    defaults. Frozen and plain, so it pickles into a worker process with the job."""

    # parser
    max_expression_chars: int = _default("max_expression_chars")
    max_gates: int = _default("max_gates")
    max_nesting_depth: int = _default("max_nesting_depth")
    max_inputs: int = _default("max_inputs")
    max_statements: int = _default("max_statements")
    max_literal_chars: int = _default("max_literal_chars")
    # tensors
    max_tensor_elements_per_input: int = _default("max_tensor_elements_per_input")
    max_tensor_elements_per_node: int = _default("max_tensor_elements_per_node")
    max_tensor_elements_per_request: int = _default("max_tensor_elements_per_request")
    max_tensor_rank: int = _default("max_tensor_rank")
    max_tensor_matmul_work: int = _default("max_tensor_matmul_work")
    gradcheck_max_evals: int = _default("gradcheck_max_evals")
    # cost of one request (app/engine/cost.py, app/landscape/cost.py)
    max_answer_bytes: int = _default("max_answer_bytes")
    max_memory_bytes: int = _default("max_memory_bytes")
    max_work: int = _default("max_work")
    # predicted seconds = work / units per second (the pools admit by it)
    work_units_per_second: float = _default("work_units_per_second")
    optimize_work_units_per_second: float = _default("optimize_work_units_per_second")
    # landscapes
    max_landscape_n: int = _default("max_landscape_n")
    max_landscape_nd: int = _default("max_landscape_nd")
    max_landscape_c: int = _default("max_landscape_c")
    max_landscape_nc: int = _default("max_landscape_nc")
    max_grid_points: int = _default("max_grid_points")
    max_slice_steps: int = _default("max_slice_steps")
    max_optimize_steps: int = _default("max_optimize_steps")
    max_optimize_work: int = _default("max_optimize_work")
    max_compare_runs: int = _default("max_compare_runs")
    max_term_lines: int = _default("max_term_lines")
    max_slice_kinks: int = _default("max_slice_kinks")
    max_loss_matrix_cells: int = _default("max_loss_matrix_cells")
    max_gradcheck_entries: int = _default("max_gradcheck_entries")
    max_circuit_terms: int = _default("max_circuit_terms")
    # lesson files (app/lessons), checked when they load
    lesson_max_bytes: int = _default("lesson_max_bytes")
    lessons_max_count: int = _default("lessons_max_count")
    lesson_max_steps: int = _default("lesson_max_steps")
    lesson_max_questions: int = _default("lesson_max_questions")
    # the live class (app/classroom): what one class, student or question may hold
    class_capacity: int = _default("class_capacity")
    class_name_max_chars: int = _default("class_name_max_chars")
    class_answer_max_chars: int = _default("class_answer_max_chars")
    class_text_max_chars: int = _default("class_text_max_chars")
    class_options_max: int = _default("class_options_max")
    class_link_max_chars: int = _default("class_link_max_chars")
    class_max_events: int = _default("class_max_events")

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        """The configured value of every Settings field of the same name."""
        return cls(**{f.name: getattr(settings, f.name) for f in fields(cls)})

    def but(self, **changes: Any) -> Limits:
        """A copy with some limits changed (tests and benchmarks use small or huge ones)."""
        return replace(self, **changes)

    def with_work_at_most(self, max_work: int) -> Limits:
        """These limits with max_work lowered to `max_work` (itself when it is not higher): the
        evaluate route's smaller budgets for its inline and thread lanes, the same two on every
        request, so each is made once (see derived)."""
        if self.max_work <= max_work:
            return self
        return derived(self, ("max_work", max_work), lambda: replace(self, max_work=max_work))


_DERIVED: dict[tuple[int, Hashable], tuple[Limits, Any]] = {}
_DERIVED_MAX = 64


def derived(limits: Limits, key: Hashable, build: Callable[[], T]) -> T:
    """`build()`, a value made from `limits` alone, remembered per Limits object and `key`.
    Settings are cached, so a server sees a few Limits objects, and a copy of 42 frozen fields
    (or a ParseLimits read from them) costs about as much as a small circuit's passes. Keyed
    by identity, not equality: hashing 42 fields would cost nearly as much as the copy."""
    entry = (id(limits), key)
    found = _DERIVED.get(entry)
    if found is not None and found[0] is limits:
        return cast(T, found[1])
    if len(_DERIVED) >= _DERIVED_MAX:  # tests make many Limits; a server, a few
        _DERIVED.clear()
    value = build()
    _DERIVED[entry] = (limits, value)  # holds `limits`, so its id is not reused meanwhile
    return value


@dataclass(frozen=True, slots=True)
class Cost:
    """A request's predicted cost, from its sizes alone, before any work is done."""

    answer_bytes: int
    memory_bytes: int
    work: int  # element operations and multiply-adds (see app/engine/cost.py)

    def check(self, limits: Limits, loc: tuple[str | int, ...] = ("body",)) -> None:
        """A 413 naming the setting when any prediction is over its budget."""
        for what, got, setting in (
            ("the predicted answer size in bytes", self.answer_bytes, "max_answer_bytes"),
            ("the predicted peak memory in bytes", self.memory_bytes, "max_memory_bytes"),
            ("the predicted work (element operations)", self.work, "max_work"),
        ):
            limit = getattr(limits, setting)
            if got > limit:
                raise LimitError(what, got, limit, setting, loc)
