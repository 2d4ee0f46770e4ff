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
from collections.abc import Callable, Collection
from dataclasses import dataclass, replace
from operator import itemgetter
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
    recipe_key,
    rule_recipe,
    verbose,
)
from app.engine.gates import GATES, no_branch
from app.engine.numbers import fmt_bytes
from app.engine.result import EvaluateResult, StepResult

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


def _picker(holes: tuple[int, ...]) -> Callable[[list[bytes]], tuple[bytes, ...]]:
    """A function giving `[fills[k] for k in holes]` as a tuple, in C (itemgetter: a verbose
    sigmoid has 170 holes)."""
    if len(holes) == 1:
        [k] = holes
        return lambda fills: (fills[k],)
    return itemgetter(*holes)


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
# in steps' order) as JSON, a step's rule, a step's kink, or a pool number as a caption writes
# it. A rule whose caption has a recipe (encode.rule_recipe) is kept cut where its numbers go,
# with the step's wires' names put in, for the words the template was made with (the
# tie-break, the kink's convention and Gate.caption_branch's choice): a request whose step
# chooses the same words fills its numbers with fmt, and one that chooses other words gets the
# rule rendered in full in their place; a rule without a recipe is always rendered in full. A
# request fills the holes with one orjson call for the numbers (cut at its commas: a finite
# float's JSON has none), fmt once for each number the captions write, one orjson call per rule
# rendered and per kink, and one join. One a circuit (a 63-node program's measured 119 KB with
# Python's objects, sys.getsizeof, 83 KB before its rules were kept cut: so at most
# parse_cache_entries (256) × 119 KB, about 31 MB, beyond the cache's node budget), kept only
# when filling it with the answer it was cut from gives that answer's very bytes. Without the
# echo (echo_expression false), the answer is the same but for its first field, so the
# template's first piece is kept cut after it too.
VERBOSE_TEMPLATES_PER_CIRCUIT = 1
_VERBOSE_TEMPLATES = "verbose templates"  # the memo's key


@dataclass(frozen=True, slots=True)
class _VerboseTemplate:
    pieces_and_holes: tuple[bytes, ...]  # the JSON between holes, with b"" where fills go
    # each hole's index into the fills: the pool numbers' JSON, the rules of the steps in
    # `whole`, the kinks, the caption numbers (the pool numbers in `captions`), then b"" (the
    # edges of a rule kept cut)
    holes: tuple[int, ...]
    pick: Callable[[list[bytes]], tuple[bytes, ...]]  # the fills in hole order (_picker)
    steps: int
    whole: tuple[int, ...]  # the steps whose rule is one hole, always rendered in full
    captions: tuple[int, ...]  # the pool numbers the kept rules write, each once
    # per step, the words its kept rule says ((tie-break, kink convention, caption branch))
    # and the rule's first and last piece; None for a whole rule
    rules: tuple[tuple[tuple[Any, ...], int, int] | None, ...]
    # the tie-break when every kept rule's words are the tie-break alone (no kink, and no
    # caption branch): then an answer with that tie-break and no kink says them all
    plain_words: str | None
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


def _words(result: EvaluateResult, step: StepResult) -> tuple[Any, ...]:
    """What chooses the step's caption words besides its gate and inputs: the tie-break, the
    kink's convention and Gate.caption_branch's choice (the end of encode.recipe_key; every
    gate of a scalar circuit has a caption branch, so the key is never None here)."""
    key = recipe_key(result, step)
    return () if key is None else key[2:]


def _pool(result: EvaluateResult) -> list[Any]:
    """The answer's numbers in pool order (see above)."""
    upstreams: list[Any] = []
    local: list[Any] = []
    contributions: list[Any] = []
    accumulated: list[Any] = []
    add_upstream = upstreams.append
    for step in result.steps:
        add_upstream(step.upstream)
        local += step.local
        contributions += step.contributions
        accumulated += step.accumulated
    return result.values + result.grads + upstreams + local + contributions + accumulated


def _fill_verbose(template: _VerboseTemplate, result: EvaluateResult, echo: bool = True) -> bytes:
    steps = result.steps
    if len(steps) != template.steps:
        raise ValueError("a verbose template filled from another circuit's steps")
    pool = _pool(result)
    filler = orjson.dumps(pool)[1:-1].split(b",")
    filler += [orjson.dumps(result.rule(steps[s])) for s in template.whole]
    kinked = False
    add = filler.append
    for step in steps:
        if step.kink is None:
            add(b"null")
        else:
            kinked = True
            add(orjson.dumps(kink_json(step.kink)))
    texts: dict[float, bytes] = {}  # equal numbers format alike (-0.0 and 0.0 too)
    for source in template.captions:
        number = pool[source]
        text = texts.get(number)
        if text is None:
            text = texts[number] = fmt_bytes(number)
        add(text)
    add(b"")
    out = list(template.pieces_and_holes)
    out[1::2] = template.pick(filler)
    if not echo:
        assert template.unechoed is not None
        out[0] = template.unechoed
    tie_break = result.tie_break
    if kinked or tie_break != template.plain_words:
        # a kept rule whose step now says other words: rendered in full in its place (from the
        # last, so that the earlier places stay where they are)
        for s in range(len(steps) - 1, -1, -1):
            kept = template.rules[s]
            if kept is None:
                continue
            words, first, last = kept
            step = steps[s]
            if _words(result, step) != words:
                out[2 * first : 2 * last + 1] = [orjson.dumps(result.rule(step))]
    return b"".join(out)


def _pool_offsets(result: EvaluateResult) -> tuple[int, int, int, int, list[int]]:
    """Where the pool's sections start (see _pool): the upstreams, the local gradients, the
    contributions and the running sums; and each step's first port among the steps' ports."""
    steps = result.steps
    nodes = result.circuit.nodes
    ports = [len(nodes[step.node].args) for step in steps]
    upstream_at = 2 * len(nodes)
    local_at = upstream_at + len(steps)
    contribution_at = local_at + sum(ports)
    accumulated_at = contribution_at + sum(ports)
    first_port = [0] * len(steps)
    for s in range(1, len(steps)):
        first_port[s] = first_port[s - 1] + ports[s - 1]
    return upstream_at, local_at, contribution_at, accumulated_at, first_port


# A rule's JSON string cut where its caption writes numbers: the pieces between them (the first
# with the opening quote, the last with the closing one; the wires' names and the texts the
# words fix are in them), and the pool index of each number.
RulePlan = tuple[list[bytes], list[int]]


def _rule_plan(
    result: EvaluateResult,
    s: int,
    step: StepResult,
    offsets: tuple[int, int, int, int, list[int]],
    pool: list[Any],
) -> RulePlan | None:
    """Step s's rule as a plan (see RulePlan), from its caption's recipe; None when it has none,
    or when the plan does not give this step's rule exactly. `offsets` and `pool`: the answer's
    (_pool_offsets, _pool)."""
    recipe = rule_recipe(result, step)
    node = result.circuit.nodes[step.node]
    argc = len(node.args)
    if recipe is None or len(step.local) != argc or len(step.contributions) != argc:
        return None
    template, calls, order = recipe
    literals = template.split("{}")
    if len(literals) != len(order) + 1:
        return None
    upstream_at, local_at, contribution_at, _, first_port = offsets
    port = first_port[s]
    # a step's numbers as Ref.code counts them (encode._step_numbers), as pool indices
    codes = [upstream_at + s, step.node, *node.args]
    codes += [local_at + port + j for j in range(argc)]
    codes += [contribution_at + port + j for j in range(argc)]
    wires = [result.names[a] for a in node.args] + [result.names[step.node]]
    texts = [literals[0]]
    sources: list[int] = []
    for slot, k in enumerate(order):
        call = calls[k] if k >= 0 else None
        if isinstance(call, int):
            sources.append(codes[call])
            texts.append(literals[slot + 1])
        else:  # a wire's name, or a text the words fix: part of the piece
            texts[-1] += (wires[-1 - k] if call is None else call) + literals[slot + 1]
    pieces = [orjson.dumps(text)[1:-1] for text in texts]
    pieces[0] = b'"' + pieces[0]
    pieces[-1] += b'"'
    rendered = [pieces[0]]
    for piece, source in zip(pieces[1:], sources, strict=True):
        rendered += [fmt_bytes(pool[source]), piece]
    if b"".join(rendered) != orjson.dumps(result.rule(step)):
        return None
    return pieces, sources


def _verbose_template(result: EvaluateResult, answer: dict[str, Any]) -> _VerboseTemplate | None:
    """The answer's JSON cut at its holes, found by walking it where the verbose answer puts
    each number, rule and kink; each rule with a plan (_rule_plan) cut where its numbers go."""
    circuit = result.circuit
    nodes = circuit.nodes
    steps = result.steps
    count = len(nodes)
    # pool offsets: values, grads, upstreams, then per step its locals, contributions, sums
    offsets = _pool_offsets(result)
    upstream_at, local_at, contribution_at, accumulated_at, first_port = offsets
    rule_at = accumulated_at + (accumulated_at - contribution_at)
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
    # the fills' order: pool numbers, whole rules, kinks, caption numbers, b""
    pool = _pool(result)
    plans = [_rule_plan(result, s, step, offsets, pool) for s, step in enumerate(steps)]
    whole = tuple(s for s, plan in enumerate(plans) if plan is None)
    whole_at = {s: rule_at + w for w, s in enumerate(whole)}
    kinks_at = rule_at + len(whole)
    captions_from = kinks_at + len(steps)
    caption_at: dict[int, int] = {}  # pool index: its caption number's place among them
    out_pieces = [pieces[0]]
    holes: list[int] = []
    rules: list[tuple[tuple[Any, ...], int, int] | None] = [None] * len(steps)
    plain = True  # every kept rule says the tie-break alone (see plain_words)
    for k, source in enumerate(sources[h] for h in order):
        after = pieces[k + 1]
        if source < rule_at:
            holes.append(source)
        elif source >= kink_at:
            holes.append(kinks_at + source - kink_at)
        elif (plan := plans[source - rule_at]) is None:
            holes.append(whole_at[source - rule_at])
        else:  # the rule's pieces between two empty holes, its numbers holes between them
            s = source - rule_at
            plan_pieces, plan_sources = plan
            start = len(out_pieces)
            holes.append(-1)
            out_pieces.append(plan_pieces[0])
            for piece, number in zip(plan_pieces[1:], plan_sources, strict=True):
                holes.append(captions_from + caption_at.setdefault(number, len(caption_at)))
                out_pieces.append(piece)
            words = _words(result, steps[s])
            branch = GATES[nodes[steps[s].node].op].caption_branch  # type: ignore[index]
            plain = plain and words == (result.tie_break, None, None) and branch is no_branch
            rules[s] = (words, start, len(out_pieces) - 1)
            holes.append(-1)
        out_pieces.append(after)
    empty = captions_from + len(caption_at)
    filled = tuple(empty if h < 0 else h for h in holes)
    interleaved: list[bytes] = [b""] * (2 * len(filled) + 1)
    interleaved[0::2] = out_pieces
    return _VerboseTemplate(
        tuple(interleaved),
        filled,
        _picker(filled),
        len(steps),
        whole,
        tuple(caption_at),
        tuple(rules),
        result.tie_break if plain else None,
        unechoed,
    )
