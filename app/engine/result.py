"""The engine's typed answer: values, gradients and each backward step, before any wire format."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from app.engine.circuit import Circuit
from app.engine.gates import GATES, Kink, Step
from app.engine.passes import Trace
from app.engine.report import broadcast_note, non_finite_warnings


# Not frozen (EvaluateResult is): one is built per backward step, and a frozen dataclass's
# __init__ costs about three times as much. Nothing changes one after collect().
@dataclass(slots=True)
class StepResult:
    """One backward step: the gate's node, its upstream gradient and, per input port, the local
    gradient (None for gates that give a vector-Jacobian product instead), the contribution sent
    back, the input's running gradient after adding it, and the cached nodes the rule reads."""

    node: int
    upstream: Any
    local: list[Any]
    contributions: list[Any]
    accumulated: list[Any]
    uses: list[list[int]]
    kink: Kink | None


@dataclass(frozen=True, slots=True)
class EvaluateResult:
    """Everything one evaluate request computed. Encoders (app/engine/encode.py) turn it into
    JSON; the circuit may be shared with the parse cache, so nothing here mutates it."""

    expression: str
    circuit: Circuit
    values: list[Any]
    grads: list[Any]  # every node's gradient; zeros where nothing flowed back
    steps: list[StepResult]
    texts: list[str]  # each node's source excerpt
    names: list[str]  # how captions name each node's wire
    warnings: list[dict[str, Any]]
    tie_break: str
    output_grad: float
    fast: bool
    gradcheck: dict[str, Any] | None = field(default=None)
    # what encoders may keep about a cached circuit between requests (encode.compact)
    memo: dict[str, Any] | None = field(default=None)

    def caption_view(self, step: StepResult) -> Step:
        """What the gate's explain function reads about `step`."""
        node = self.circuit.nodes[step.node]
        values = self.values
        return Step(
            [self.names[a] for a in node.args],
            [values[a] for a in node.args],
            values[step.node],
            step.upstream,
            step.local,
            step.contributions,
            node.const,
            self.tie_break,
            self.names[step.node],
        )

    def rule(self, step: StepResult, view: Step | None = None) -> str:
        """The step's rule in words, with its numbers, as the verbose answer's `rule`. With
        `view`, the caption reads that instead of the step's own: the compact encoder's
        recipes pass placeholders for the wires' names and numbers.Ref for the numbers."""
        node = self.circuit.nodes[step.node]
        gate = GATES[node.op]  # type: ignore[index]
        rule = gate.explain(self.caption_view(step) if view is None else view)
        if gate.vjp is None and not self.fast:
            rule += broadcast_note(
                [self.names[a] for a in node.args],
                [self.values[a] for a in node.args],
                self.values[step.node],
            )
        if step.kink is not None:
            rule += f". Kink: {step.kink.convention}"
        return rule

    def gradients(self) -> dict[str, Any]:
        """Each input's gradient, by input name."""
        return {
            node.name: self.grads[node.id]
            for node in self.circuit.nodes
            if node.kind == "input" and node.name is not None
        }


# A step's node's part in collect(): (its gate's kink rule, its inputs, its param, the cached
# values each input's rule reads).
StepRow = tuple[Callable[..., Kink | None] | None, tuple[int, ...], Any, list[list[int]]]


def collect(
    circuit: Circuit,
    trace: Trace,
    expression: str,
    texts: list[str],
    names: list[str],
    tie_break: str,
    output_grad: float,
    memo: dict[str, Any] | None = None,
) -> EvaluateResult:
    """Types a trace: finds each step's kink and cached values, and the non-finite warnings."""
    nodes = circuit.nodes
    values = trace.values
    fast = trace.fast
    # what a step's node gives every step of it (its gate's kink rule, its inputs, its param
    # and the cached values each input's rule reads) depends on the circuit alone: kept with a
    # cached circuit and shared by its results (read only, as the circuit is)
    rows: dict[int, StepRow] = {} if memo is None else memo.setdefault("step rows", {})
    steps: list[StepResult] = []
    append = steps.append
    for node_id, upstream, local, contributions, accumulated in trace.steps:
        row = rows.get(node_id)
        if row is None:  # written out, not a call: a new circuit comes here at every step
            node = nodes[node_id]
            gate = GATES[node.op]  # type: ignore[index]
            uses_rule = gate.uses
            assert uses_rule is not None  # register() refuses a gate without one
            args = node.args
            uses = [uses_rule(node_id, args, port) for port in range(len(args))]
            row = rows[node_id] = (gate.kink, args, node.const, uses)
        kink_rule, args, param, uses = row
        kink = None
        if kink_rule is not None:
            if fast:  # plain floats: the kink rules answer those without numpy
                kink = kink_rule([values[a] for a in args], values[node_id], param, tie_break)
            else:
                kink = kink_rule(
                    [np.asarray(values[a]) for a in args],
                    np.asarray(values[node_id]),
                    param,
                    tie_break,
                )
        append(StepResult(node_id, upstream, local, contributions, accumulated, uses, kink))
    grads = [
        g if g is not None else (0.0 if trace.fast else np.zeros(np.shape(values[i])))
        for i, g in enumerate(trace.grads)
    ]
    warnings = list(circuit.warnings)  # a copy: the circuit may be the parse cache's
    # Plain floats whose sums are finite are all finite: a NaN or an infinity makes a sum NaN
    # or infinite, and each contribution is added into its input's gradient. (A sum that
    # overflows takes the search, which finds nothing.)
    if not (fast and math.isfinite(sum(values)) and math.isfinite(sum(grads))):
        warnings.extend(non_finite_warnings(circuit, trace, names))
    return EvaluateResult(
        expression,
        circuit,
        values,
        grads,
        steps,
        texts,
        names,
        warnings,
        tie_break,
        float(output_grad),
        trace.fast,
        memo=memo,
    )
