"""An answer's JSON bytes filled into a template kept with its circuit (a slider on a neuron).

A re-evaluation of a small scalar circuit changes only some of its answer: its numbers and, in
the verbose answer, its steps' rules and kinks. The rest depends on the circuit (and on what
the request asks for). So the first answer's JSON is kept cut at those places (holes), and a
later request with the same key fills them with orjson: the same bytes as encoding the answer
in full (app/engine/encode.py), without building it. A template is kept only for circuits of at
most 64 nodes whose numbers are all finite, with the parsed circuit (its memo), a few a circuit.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection
from dataclasses import dataclass, replace
from typing import Any

import orjson

from app.engine.encode import (
    VERBOSE_ROWS_KEPT_MAX_NODES,
    all_floats,
    compact,
    compact_keyed,
    dumps,
    encode,
    kink_json,
    verbose,
)
from app.engine.gates import GATES, no_branch
from app.engine.result import EvaluateResult

# ---------------------------------------------------------------- holes


def _hole(k: int) -> str:
    """The mark put in an answer where hole k goes (NUL is escaped in JSON, so the mark's JSON
    is found by _HOLE_MARK)."""
    return f"\x00{k}\x00"


_HOLE_MARK = re.compile(rb'"\\u0000(\d+)\\u0000"')


def _cut(marked: dict[str, Any], holes: int) -> tuple[tuple[bytes, ...], tuple[int, ...]] | None:
    """The JSON of an answer whose holes 0 .. holes - 1 hold their marks, cut at them: the
    pieces between the holes, and which hole each place is (in the JSON's order). None if a mark
    is not found exactly once (a text of the answer holding one)."""
    parts = _HOLE_MARK.split(dumps(marked))  # pieces and hole numbers alternate
    order = tuple(int(k) for k in parts[1::2])
    if sorted(order) != list(range(holes)):
        return None
    return tuple(parts[0::2]), order


def _join(pieces: tuple[bytes, ...], fills: list[bytes], first: bytes | None = None) -> bytes:
    """The pieces with each place's fill between them; `first` instead of the first piece."""
    out: list[bytes] = [b""] * (2 * len(fills) + 1)
    out[0::2] = pieces
    out[1::2] = fills
    if first is not None:
        out[0] = first
    return b"".join(out)


# ---------------------------------------------------------------- compact

# A compact answer is a template when no step is at a kink and every number is finite: then its
# structure and step columns, its strings, and its captions' rules, slots and templates are
# fixed by the circuit and, for the captions, by each step's recipe key (the branch a max, relu
# or param gate's words take; encode._Captions.add_rendered), when version 2 names the numbers
# in its templates. Its holes are the four places its numbers go: output_grad, the nodes' values
# and gradients, the steps' local gradients. A few a circuit (the branches its max and relu
# gates take): a 62-node program's measured 4.5 KB with Python's objects, so at most
# parse_cache_entries (256) × 4 × 4.5 KB, about 5 MB, beyond the cache's node budget.
COMPACT_TEMPLATE_MAX_NODES = 64
COMPACT_TEMPLATES_PER_CIRCUIT = 4
_TEMPLATES = "compact templates"  # the memo's key
Template = tuple[tuple[bytes, ...], tuple[int, ...]]  # the pieces between holes; hole order
Numbers = tuple[float, list[float], list[float], list[float]]


def compact_json(result: EvaluateResult, echo: bool = True, version: int = 1) -> bytes:
    """dumps(compact(result, echo, version)), the same bytes: from a template kept with the
    circuit when the answer allows one (see above), else encoded in full."""
    key = _template_key(result, echo, version)
    numbers = None if key is None else _template_numbers(result)
    if key is None or numbers is None or result.memo is None:
        return dumps(compact(result, echo, version))
    templates: dict[Any, Template] = result.memo.setdefault(_TEMPLATES, {})
    template = templates.get(key)
    if template is not None:
        return _fill(template, numbers)
    answer, by_key = compact_keyed(result, echo, version)
    if by_key and len(templates) < COMPACT_TEMPLATES_PER_CIRCUIT:
        nodes, steps = answer["nodes"], answer["steps"]
        marked = {
            **answer,
            "output_grad": _hole(0),
            "nodes": {**nodes, "value": _hole(1), "grad": _hole(2)},
            "steps": {**steps, "local": _hole(3)},
        }
        cut = _cut(marked, 4)
        if cut is not None:
            templates[key] = cut
    return dumps(answer)


def _fill(template: Template, numbers: Numbers) -> bytes:
    pieces, order = template
    return _join(pieces, [orjson.dumps(numbers[k]) for k in order])


def _template_key(result: EvaluateResult, echo: bool, version: int) -> tuple[Any, ...] | None:
    """What, besides the circuit, fixes every part of the answer but its numbers: the echo,
    the tie-break, the steps' order and the caption branch of each step whose gate has one.
    None when the answer cannot be a template (not a small scalar circuit's version-2 answer,
    a kink, a warning, a gradient check, or a gate whose caption no key chooses)."""
    nodes = result.circuit.nodes
    if (
        version != 2
        or not result.fast
        or result.memo is None
        or result.warnings
        or result.gradcheck is not None
        or len(nodes) > COMPACT_TEMPLATE_MAX_NODES
    ):
        return None
    values = result.values
    order = []
    branches = []
    for step in result.steps:
        if step.kink is not None:
            return None
        node_id = step.node
        order.append(node_id)
        node = nodes[node_id]
        branch = GATES[node.op].caption_branch  # type: ignore[index]
        if branch is None:
            return None
        if branch is not no_branch:
            chosen = branch([values[a] for a in node.args], values[node_id], node.const)
            branches.append((node_id, chosen))
    return (echo, result.tie_break, tuple(order), tuple(branches))


def _template_numbers(result: EvaluateResult) -> Numbers | None:
    """The answer's numbers in hole order, when every one is a finite float (so its columns are
    these very lists: encode._column)."""
    output_grad = result.output_grad
    values, grads = result.values, result.grads
    local = [g for step in result.steps for g in step.local]
    if not (
        type(output_grad) is float
        and all_floats(values)
        and all_floats(grads)
        and all_floats(local)
        and all(map(math.isfinite, values))
        and all(map(math.isfinite, grads))
        and all(map(math.isfinite, local))
        and math.isfinite(output_grad)
    ):
        return None
    return output_grad, values, grads, local


# ---------------------------------------------------------------- verbose

# A verbose answer (the API's default) is a template when it is the whole answer of a small
# scalar circuit and its numbers are all finite: everything but its numbers, its steps' rules and
# its kinks depends on the circuit and the steps' order (which only the circuit fixes, but kept
# in the key). Each hole names what fills it: a number of the answer's pool (every node's value
# and gradient, each step's upstream, then its local gradients, contributions and running sums,
# in steps' order), a step's rule, or a step's kink. A request fills them with one orjson call for
# the numbers (cut at its commas: a finite float's JSON has none), one per rule and kink, and one
# join. One a circuit (a 62-node program's measured 85 KB with Python's objects, sys.getsizeof;
# so at most parse_cache_entries (256) × 85 KB, about 22 MB, beyond the cache's node budget),
# kept only when filling it with the answer it was cut from gives that answer's very bytes.
# Without the echo (echo_expression false), the answer is the same but for its first field, so
# the template's first piece is kept cut after it too.
VERBOSE_TEMPLATES_PER_CIRCUIT = 1
_VERBOSE_TEMPLATES = "verbose templates"  # the memo's key


@dataclass(frozen=True, slots=True)
class _VerboseTemplate:
    pieces: tuple[bytes, ...]  # the JSON between holes
    holes: tuple[int, ...]  # each hole's index into (pool numbers, rules, kinks)
    steps: int
    unechoed: bytes | None  # the first piece without the expression (None: not found)


def verbose_json(
    result: EvaluateResult, parts: Collection[str] | None = None, echo: bool = True
) -> bytes:
    """dumps(encode(result, "verbose", parts, echo)), the same bytes: from a template kept with
    the circuit when the answer allows one (see above), else encoded in full. A template is of
    the whole answer (no parts: the API's default; a few fields chosen are a small answer);
    without `echo`, its first piece is cut after the expression."""
    key = None if parts is not None else _verbose_key(result)
    if key is None or result.memo is None:
        return dumps(encode(result, "verbose", parts, echo))
    templates: dict[Any, _VerboseTemplate] = result.memo.setdefault(_VERBOSE_TEMPLATES, {})
    template = templates.get(key)
    if template is not None:
        if echo or template.unechoed is not None:
            return _fill_verbose(template, result, echo)
        return dumps(encode(result, "verbose", None, echo))
    whole = dumps(answer := verbose(result))
    unechoed = None if echo else dumps(encode(result, "verbose", None, False))
    made = (
        _verbose_template(result, answer)
        if len(templates) < VERBOSE_TEMPLATES_PER_CIRCUIT
        else None
    )
    if made is not None and _fill_verbose(made, result) == whole:
        # kept only if it gives back this answer's very bytes, with the echo and without
        unechoed = unechoed or dumps(encode(result, "verbose", None, False))
        if made.unechoed is not None and _fill_verbose(made, result, False) != unechoed:
            made = replace(made, unechoed=None)
        templates[key] = made
    if echo:
        return whole
    assert unechoed is not None
    return unechoed


def _verbose_key(result: EvaluateResult) -> tuple[Any, ...] | None:
    """What, besides the circuit, fixes every part of the whole verbose answer but its numbers,
    rules and kinks: the steps' order. None when the answer cannot be a template (not a small
    scalar circuit's, a number that is not finite, a warning, a gradient check)."""
    if (
        not result.fast
        or result.memo is None
        or result.warnings
        or result.gradcheck is not None
        or len(result.circuit.nodes) > VERBOSE_ROWS_KEPT_MAX_NODES
        or not math.isfinite(sum(result.values))
        or not math.isfinite(sum(result.grads))
    ):
        return None
    # (the steps' numbers are then finite too: see encode._records)
    return tuple(step.node for step in result.steps)


def _pool(result: EvaluateResult) -> list[Any]:
    """The answer's numbers in pool order (see above)."""
    steps = result.steps
    return [
        *result.values,
        *result.grads,
        *[step.upstream for step in steps],
        *[g for step in steps for g in step.local],
        *[c for step in steps for c in step.contributions],
        *[a for step in steps for a in step.accumulated],
    ]


def _fill_verbose(template: _VerboseTemplate, result: EvaluateResult, echo: bool = True) -> bytes:
    steps = result.steps
    if len(steps) != template.steps:
        raise ValueError("a verbose template filled from another circuit's steps")
    filler = orjson.dumps(_pool(result))[1:-1].split(b",")
    filler += [orjson.dumps(result.rule(step)) for step in steps]
    for step in steps:
        filler.append(b"null" if step.kink is None else orjson.dumps(kink_json(step.kink)))
    fills = [filler[k] for k in template.holes]
    if echo:
        return _join(template.pieces, fills)
    assert template.unechoed is not None
    return _join(template.pieces, fills, template.unechoed)


def _verbose_template(result: EvaluateResult, answer: dict[str, Any]) -> _VerboseTemplate | None:
    """The answer's JSON cut at its holes, found by walking it where the verbose answer puts
    each number, rule and kink."""
    circuit = result.circuit
    nodes = circuit.nodes
    steps = result.steps
    count = len(nodes)
    # pool offsets: values, grads, upstreams, then per step its locals, contributions, sums
    upstream_at = 2 * count
    ports = [len(nodes[step.node].args) for step in steps]
    local_at = upstream_at + len(steps)
    contribution_at = local_at + sum(ports)
    accumulated_at = contribution_at + sum(ports)
    first_port = [sum(ports[:s]) for s in range(len(steps))]
    rule_at = accumulated_at + sum(ports)
    kink_at = rule_at + len(steps)
    step_of = {step.node: s for s, step in enumerate(steps)}
    sources: list[int] = []  # each hole's source, by hole number

    def hole(source: int) -> str:
        sources.append(source)
        return _hole(len(sources) - 1)

    marked = dict(answer)
    if "output" in marked:
        marked["output"] = {**marked["output"], "value": hole(circuit.output)}
    if "nodes" in marked:
        marked["nodes"] = [
            {**row, "value": hole(i), "grad": hole(count + i)}
            for i, row in enumerate(marked["nodes"])
        ]
    if "edges" in marked:
        edges = []
        e = 0
        for node in nodes:
            for port, arg in enumerate(node.args):
                row = {**marked["edges"][e], "value": hole(arg)}
                s = step_of.get(node.id)
                if s is not None:
                    row["grad"] = hole(contribution_at + first_port[s] + port)
                edges.append(row)
                e += 1
        if e != len(marked["edges"]):
            return None
        marked["edges"] = edges
    if "backward" in marked:
        rows = []
        for s, row in enumerate(marked["backward"]):
            row = {**row, "upstream": hole(upstream_at + s)}
            row["inputs"] = [
                {
                    **port_row,
                    "local_grad": hole(local_at + first_port[s] + port),
                    "contribution": hole(contribution_at + first_port[s] + port),
                    "accumulated": hole(accumulated_at + first_port[s] + port),
                }
                for port, port_row in enumerate(row["inputs"])
            ]
            row["rule"] = hole(rule_at + s)
            row["kink"] = hole(kink_at + s)
            rows.append(row)
        marked["backward"] = rows
    if "gradients" in marked:
        inputs = {node.name: node.id for node in nodes if node.kind == "input"}
        marked["gradients"] = {name: hole(count + inputs[name]) for name in marked["gradients"]}
    cut = _cut(marked, len(sources))
    if cut is None:
        return None
    pieces, order = cut
    # without the echo, the answer starts where the expression's field ends
    echoed = b'{"expression":' + orjson.dumps(result.expression) + b","
    first = pieces[0]
    unechoed = b"{" + first[len(echoed) :] if first.startswith(echoed) else None
    return _VerboseTemplate(pieces, tuple(sources[k] for k in order), len(steps), unechoed)
