"""The one encoder of an evaluate answer: verbose (row per node, edge and step) or compact.

The verbose answer repeats every number where a reader wants it (an edge carries its source's
value, a step its upstream, each input its running sum) and each caption as full text. The
compact answer is columnar and sends each fact once; everything the verbose answer repeats is
derived by the reader (static/js/circuit/model.js; a Python reader is in README.md):

- a step's upstream is the gradient of its node (steps run in reverse creation order, so every
  consumer of a node has already added into it); an edge's value is its source's value and its
  gradient the contribution sent along it; a running sum is the sum of the contributions so far;
- a contribution is upstream × local gradient, elementwise and exactly, whenever the step has
  local gradients and no input was broadcast; other steps (matmul, sum, broadcasting) send theirs;
- a caption is a template (sent once per answer) filled with slots (indices into `strings`, or
  the step's wires' names); a scalar circuit's templates also name the step's own numbers
  ({u} upstream, {o} output, {xJ} input J's value, {lJ} its local gradient, {cJ} its
  contribution), which the reader writes as numbers.fmt does, when the request asks for
  version 2 (compact_version; version 1 sends those numbers' text in `strings`);
- an excerpt is a span into the expression, cut the same way as the verbose `text` (the
  request may leave the expression out of the answer, echo_expression false: its sender has
  it, and it is about a sixth of a compact answer).

Non-finite numbers are the strings "Infinity", "-Infinity" and "NaN" in both formats.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection
from typing import Any, Literal, cast, get_args

import numpy as np
import orjson

from app.engine.circuit import Circuit
from app.engine.gates import GATES, Kink, Step, no_branch
from app.engine.numbers import (
    NUMBER_MARK,
    NUMBER_OVERFLOW,
    Ref,
    captured_numbers,
    fmt,
    json_number,
    to_json,
)
from app.engine.report import Excerpts, node_symbol, param_of
from app.engine.result import EvaluateResult, StepResult
from app.engine.tensor_gates import index_input_names

FORMATS = ("verbose", "compact")
Row = dict[str, Any]
COMPACT_VERSIONS = (1, 2)


def dumps(answer: dict[str, Any]) -> bytes:
    """Strict JSON bytes. orjson would write NaN as null, so every float in an answer must
    already be finite or one of the non-finite strings (to_json and _column do that)."""
    return orjson.dumps(answer, option=orjson.OPT_SERIALIZE_NUMPY)


def encode(
    result: EvaluateResult,
    format: str,
    parts: Collection[str] | None = None,
    echo: bool = True,
    version: int = 1,
) -> dict[str, Any]:
    """The answer in `format`; `parts` (verbose only) chooses which of its fields are sent;
    without `echo`, the expression is not among them; `version` is the compact answer's."""
    if format == "compact":
        return compact(result, echo, version)
    if not echo:
        parts = [
            part for part in (ANSWER_PARTS if parts is None else parts) if part != "expression"
        ]
    return verbose(result, parts)


# ---------------------------------------------------------------- verbose

# The verbose answer's fields, in the order they are sent; a request's `parts` chooses among
# them (None: all). The compact answer has no parts: its columns refer to each other.
AnswerPart = Literal[
    "expression",
    "output",
    "inputs",
    "nodes",
    "edges",
    "forward",
    "backward",
    "gradients",
    "warnings",
    "stats",
    "index_inputs",
    "gradcheck",
]
ANSWER_PARTS: tuple[str, ...] = get_args(AnswerPart)


def verbose(result: EvaluateResult, parts: Collection[str] | None = None) -> dict[str, Any]:
    """The row-per-thing answer (the API's default), with only the fields in `parts` (all when
    None). What no asked-for field needs is not built: without `backward`, no step's caption is
    written; without `nodes`, `edges` and `backward`, no per-node record at all."""
    want = set(ANSWER_PARTS if parts is None else parts)
    circuit = result.circuit
    values = result.values
    output = circuit.output
    answer: dict[str, Any] = {}
    if "expression" in want:
        answer["expression"] = result.expression
    if "output" in want:
        answer["output"] = {
            "value": to_json(values[output]),
            "shape": list(np.shape(values[output])),
            "node": f"n{output}",
        }
    if "inputs" in want:
        answer["inputs"] = list(circuit.input_names)
    if want & {"nodes", "edges", "backward"}:
        answer.update(_records(result, want))
    if "forward" in want:
        answer["forward"] = [f"n{node.id}" for node in circuit.nodes]
    if "gradients" in want:
        answer["gradients"] = {name: to_json(g) for name, g in result.gradients().items()}
    if "warnings" in want:
        answer["warnings"] = result.warnings
    if "stats" in want:
        answer["stats"] = _stats(result)
    if "index_inputs" in want:
        answer["index_inputs"] = index_input_names(circuit)
    if "gradcheck" in want:
        answer["gradcheck"] = result.gradcheck
    return {key: answer[key] for key in ANSWER_PARTS if key in answer}


# A cached circuit keeps its verbose rows' fixed parts only up to this many nodes: they add
# 1.2 to 1.8 KB a node (tracemalloc, 10- to 1,000-gate circuits), about as much again as the
# cached parse, and they matter where the rest of a request is small (a sigmoid neuron's
# verbose evaluate_json: 190-203 µs before, 145-158 µs after, on a loaded machine). At most
# parse_cache_entries (256) × 64 nodes × 1.8 KB, about 30 MB, beyond the cache's node budget.
VERBOSE_ROWS_KEPT_MAX_NODES = 64


def _records(result: EvaluateResult, want: set[str]) -> dict[str, Any]:
    """The per-node, per-edge and per-step rows asked for (edges need the steps' contributions
    for their gradients, so the steps are walked whenever edges or backward are wanted). The
    parts of each row that depend on the circuit alone are made once per cached circuit
    (_fixed_rows); each answer copies them and fills in its numbers, in the same key order."""
    circuit = result.circuit
    nodes = circuit.nodes
    values, grads = result.values, result.grads
    memo = result.memo if len(nodes) <= VERBOSE_ROWS_KEPT_MAX_NODES else None
    fixed = memo.get("verbose_rows") if memo is not None else None
    if fixed is None:
        fixed = _fixed_rows(result)
        if memo is not None:
            memo["verbose_rows"] = fixed
    symbols, node_rows, edge_rows, edge_sources, edge_ids = fixed
    # Plain floats whose sums are finite are all finite, and so are the steps' numbers: each
    # step's upstream is a final gradient, and a non-finite local gradient or contribution
    # would make the gradient it is added into non-finite (result.collect's test). Such an
    # answer's numbers go in as they are, without to_json's check of each.
    plain = result.fast and math.isfinite(sum(values)) and math.isfinite(sum(grads))
    number = _as_is if plain else to_json
    if plain:
        shapes: list[list[int]] = [[] for _ in values]
        value_json = values
        grad_json = grads
    else:
        shapes = [list(np.shape(v)) for v in values]
        value_json = [to_json(v) for v in values]
        grad_json = [to_json(g) for g in grads]

    node_out = []
    if "nodes" in want:
        for row, value, shape, grad in zip(node_rows, value_json, shapes, grad_json, strict=True):
            row = row.copy()
            row["value"] = value
            row["grad"] = grad
            row["shape"] = shape
            node_out.append(row)

    edges: list[dict[str, Any]] = []
    for row, source in zip(edge_rows, edge_sources, strict=True):
        row = row.copy()
        row["value"] = value_json[source]
        row["shape"] = shapes[source]
        edges.append(row)

    steps = []
    backward = "backward" in want
    step_rows: list[Row] = []
    input_rows: list[list[Row]] = []
    if backward:
        order = [step.node for step in result.steps]
        fixed_steps = memo.get("verbose_steps") if memo is not None else None
        if fixed_steps is None or fixed_steps[0] != order:
            fixed_steps = (order, *_fixed_step_rows(result, symbols, edge_ids))
            if memo is not None:
                memo["verbose_steps"] = fixed_steps
        _, step_rows, input_rows = fixed_steps
    for index, step in enumerate(result.steps):
        contributions = step.contributions if plain else [to_json(c) for c in step.contributions]
        for port, contribution in enumerate(contributions):
            edges[edge_ids[(step.node, port)]]["grad"] = contribution
        if not backward:
            continue
        step_inputs = []
        for port, row in enumerate(input_rows[index]):
            row = row.copy()
            local = step.local[port]
            row["local_grad"] = None if local is None else number(local)
            row["contribution"] = contributions[port]
            row["accumulated"] = number(step.accumulated[port])
            step_inputs.append(row)
        kink = None if step.kink is None else kink_json(step.kink)
        row = step_rows[index].copy()
        row["upstream"] = number(step.upstream)
        row["inputs"] = step_inputs
        row["rule"] = result.rule(step)
        row["kink"] = kink
        steps.append(row)
    records: dict[str, Any] = {}
    if "nodes" in want:
        records["nodes"] = node_out
    if "edges" in want:
        records["edges"] = edges
    if backward:
        records["backward"] = steps
    return records


def kink_json(kink: Kink) -> dict[str, Any]:
    """A step's kink as the verbose answer has it: its fields, and its convention as `text`."""
    row = kink.as_dict()
    row["text"] = row["convention"]
    return row


def _as_is(number: float) -> float:
    """A finite float as JSON has it (see _records)."""
    return number


def _fixed_rows(
    result: EvaluateResult,
) -> tuple[list[str], list[Row], list[Row], list[int], dict[tuple[int, int], int]]:
    """What the verbose rows hold that depends on the circuit alone: each node's symbol, its
    row and each edge's row with their numbers left blank, each edge's source node (whose
    value it carries) and each (node, port)'s edge."""
    nodes = result.circuit.nodes
    names, texts = result.names, result.texts
    symbols = [node_symbol(node, [names[a] for a in node.args]) for node in nodes]
    node_rows = []
    for node in nodes:
        node_rows.append(
            {
                "id": f"n{node.id}",
                "kind": node.kind,
                "op": node.op,
                "symbol": symbols[node.id],
                "label": node.labels[0]
                if node.labels
                else (node.name if node.kind == "input" else None),
                "labels": node.labels,
                "inputs": [f"n{a}" for a in node.args],
                "value": None,
                "grad": None,
                "shape": None,
                "text": texts[node.id],
                "span": node.span.as_dict() if node.span else None,
                "param": param_of(node, [names[a] for a in node.args]),
            }
        )
    edge_ids: dict[tuple[int, int], int] = {}
    edge_rows: list[Row] = []
    edge_sources: list[int] = []
    for node in nodes:
        for port, arg in enumerate(node.args):
            edge_ids[(node.id, port)] = len(edge_rows)
            edge_rows.append(
                {
                    "id": f"e{len(edge_rows)}",
                    "source": f"n{arg}",
                    "target": f"n{node.id}",
                    "port": port,
                    "value": None,
                    "grad": 0.0,
                    "shape": None,
                }
            )
            edge_sources.append(arg)
    return symbols, node_rows, edge_rows, edge_sources, edge_ids


def _fixed_step_rows(
    result: EvaluateResult,
    symbols: list[str],
    edge_ids: dict[tuple[int, int], int],
) -> tuple[list[Row], list[list[Row]]]:
    """What each backward step's row, and each of its inputs' rows, hold that depends on the
    circuit and the steps' order alone, with the numbers, the rule and the kink left blank."""
    nodes = result.circuit.nodes
    step_rows: list[Row] = []
    input_rows: list[list[Row]] = []
    for index, step in enumerate(result.steps):
        node = nodes[step.node]
        input_rows.append(
            [
                {
                    "node": f"n{arg}",
                    "port": port,
                    "edge": f"e{edge_ids[(step.node, port)]}",
                    "local_grad": None,
                    "contribution": None,
                    "accumulated": None,
                    "uses": [f"n{u}" for u in step.uses[port]],
                }
                for port, arg in enumerate(node.args)
            ]
        )
        step_rows.append(
            {
                "index": index,
                "node": f"n{step.node}",
                "op": node.op,
                "symbol": symbols[step.node],
                "upstream": None,
                "inputs": None,
                "rule": None,
                "formula": GATES[node.op].derivative,  # type: ignore[index]
                "kink": None,
            }
        )
    return step_rows, input_rows


def _stats(result: EvaluateResult) -> dict[str, Any]:
    circuit = result.circuit
    return {"gates": circuit.gate_count, "nodes": len(circuit.nodes), "fast_path": result.fast}


# ---------------------------------------------------------------- compact

# Each of a step's wire names is first replaced by a private-use character (U+E000 + its
# position among the step's names); a slot is then such a mark, or a number as fmt writes it
# (not the digits of a word such as x0).
_SPLIT = re.compile(r"([\ue000-\uf8ff])|(?<![\w.])(-?\d+(?:\.\d+)?(?:e-?\d+)?)")
_WORD = re.compile(r"[A-Za-z_]\w*")
_NUMBER = re.compile(r"-?(?:\d+(?:\.\d+)?(?:e-?\d+)?|Infinity|NaN)")
_MARK = 0xE000
_PRIVATE = re.compile(r"[\ue000-\uf8ff]")
_PLACEHOLDER = re.compile(r"([\ue000-\uf8ff])")


class _Strings:
    """The answer's table of distinct texts; everything else refers to them by index."""

    def __init__(self) -> None:
        self.index: dict[str, int] = {}

    def __call__(self, text: str) -> int:
        found = self.index.get(text)
        if found is None:
            found = self.index[text] = len(self.index)
        return found

    def table(self) -> list[str]:
        return list(self.index)


class _Captions:
    """Splits each rule into a template (its fixed words, shared by every step that says the
    same thing) and slots (the names and numbers of this step). Templates use "{}" for a slot;
    a slot k ≥ 0 is strings[k], and -1 - j the name of the step's j-th wire (its inputs in port
    order, then its own output)."""

    def __init__(self, strings: _Strings) -> None:
        self.strings = strings
        self.templates: dict[str, int] = {}
        self.rule: list[int] = []
        self.slots: list[int] = []
        # whether every rule so far is a version-2 recipe chosen by its key alone (add_rendered),
        # so that the same keys give the same rules, strings and templates (answer_templates.compact_json)
        self.by_key = True

    def add(self, text: str, names: list[str]) -> None:
        self.by_key = False
        if _has_mark(text):  # the text has private-use characters of its own: no template
            self._literal(text)
            return
        marked = text
        for k, name in enumerate(names):
            if name and name in marked and _NUMBER.fullmatch(name) is None:
                marked = _mark(marked, name, chr(_MARK + k))
        # split keeps the matches: a literal, then (mark, number, literal) per slot
        parts = _SPLIT.split(marked)
        pieces = [parts[0]]
        slots = []
        strings = self.strings
        for i in range(1, len(parts), 3):
            mark = parts[i]
            # -1 - k: the name of the step's k-th wire
            slots.append(_MARK - 1 - ord(mark) if mark is not None else strings(parts[i + 1]))
            pieces.append(parts[i + 2])
        words = "".join(pieces)
        if "{" in words or "}" in words:
            self._literal(text)
            return
        self._emit("{}".join(pieces), slots)

    def add_rendered(self, result: EvaluateResult, named_numbers: bool = False) -> None:
        """Every step's rule from its recipe (_recipe): a template with slots for its wires'
        names and any number the words fix (pow's constant), and for the step's own numbers
        either named places in the template ({u}, {o}, {x0}, {l0}, {c0}: `named_numbers`,
        version 2), which the reader writes from the columns it already has, or slots with
        their text (version 1). A recipe is rendered once for every step whose gate says the
        same thing (same gate, inputs, tie-break, kink and Gate.caption_branch) and kept
        between answers (_RECIPES). Only for scalar circuits, whose gates name wires as opaque
        text and write their numbers through fmt (tensor captions derive dW from W, and show
        shapes)."""
        nodes = result.circuit.nodes
        index = self.strings.index
        intern = index.setdefault  # a new text gets the next index: len before it is added
        templates, rule_ids, slots = self.templates, self.rule, self.slots
        add_rule, add_slots = rule_ids.append, slots.extend
        seen_index: dict[Any, int] = {}  # version 1: each number's strings index, this answer
        seen = seen_index.get
        # version 2: each recipe key's template index and slots in this answer, so a step whose
        # caption was placed before is placed again with two list operations
        placed: dict[tuple[Any, ...], tuple[int, list[int]]] = {}
        for step in result.steps:
            node_id = step.node
            node = nodes[node_id]
            args = node.args
            argc = len(args)
            if argc >= _MAX_MARKS:  # more wires than placeholders: the search
                self.add(result.rule(step), _wires(result, step))  # (not by key)
                continue
            key = recipe_key(result, step)
            if key is not None and named_numbers and (known := placed.get(key)) is not None:
                add_rule(known[0])
                add_slots(known[1])
                continue
            recipe = _keyed_recipe(result, step, key)
            if key is None or not named_numbers:
                self.by_key = False
            if recipe is _WHOLE:  # braces in its words, or too many numbers
                self.by_key = False
                self._literal(result.rule(step))
                continue
            if named_numbers:
                template, spec, names_only = recipe[0]
                template_id = templates.setdefault(template, len(templates))
                step_slots = (
                    cast(list[int], spec)
                    if names_only
                    else [k if isinstance(k, int) else intern(k, len(index)) for k in spec]
                )
                add_rule(template_id)
                add_slots(step_slots)
                if key is not None:
                    placed[key] = (template_id, step_slots)
                continue
            template, calls, order = recipe[1]
            numbers = _step_numbers(result, step)
            found = []
            for c in calls:  # interned in the order the caption formats them
                if isinstance(c, int):
                    number = numbers[c]
                    k = seen(number)  # equal numbers format alike (-0.0 and 0.0 too)
                    if k is None:
                        k = seen_index[number] = intern(fmt(number), len(index))
                else:
                    k = intern(c, len(index))
                found.append(k)
            add_rule(templates.setdefault(template, len(templates)))
            # the k-th number formatted, or -1 - j: the step's j-th wire
            add_slots([found[k] if k >= 0 else k for k in order])

    def _literal(self, text: str) -> None:
        """A rule that cannot be a template: the whole text as the one slot of "{}"."""
        self._emit("{}", [self.strings(text)])

    def _emit(self, template: str, slots: list[int]) -> None:
        found = self.templates.get(template)
        if found is None:
            found = self.templates[template] = len(self.templates)
        self.rule.append(found)
        self.slots.extend(slots)


# Caption recipes of the scalar fast path, shared by every answer, keyed on what chooses a
# caption's words (add_rendered). Each holds the caption in both versions of the answer:
# - version 2, (template, slots, whether every slot is a wire's name): the step's numbers are
#   named in the template; a slot is -1 - j for the step's j-th wire or a text the words fix
#   (a number such as pow's constant, interned per answer);
# - version 1, (template, calls, order): calls is what each fmt call of the caption formats,
#   in call order (the order the answer's strings table meets them): a step's number by its
#   Ref.code, or a text the words fix; order is each slot, the k-th call or -1 - j.
# _WHOLE: the caption is sent whole. Bounded by count, and kept only for gates of a few inputs
# (a max of 20,000 arguments renders its own).
Recipe = tuple[tuple[str, list[int | str], bool], tuple[str, list[int | str], list[int]]]
_WHOLE: Recipe = (("", [], True), ("", [], []))
_RECIPES: dict[tuple[Any, ...], Recipe] = {}
_RECIPES_MAX = 4096
_RECIPE_MAX_ARGS = 16


def rule_recipe(
    result: EvaluateResult, step: StepResult
) -> tuple[str, list[int | str], list[int]] | None:
    """The step's caption recipe in its version-1 form (template, calls, order; see Recipe), found
    by its key as add_rendered finds it; None when the gate's words are not chosen by a key, or
    the caption is sent whole. Only for a scalar circuit's steps (add_rendered)."""
    if len(result.circuit.nodes[step.node].args) >= _MAX_MARKS:
        return None
    key = recipe_key(result, step)
    if key is None:
        return None
    recipe = _keyed_recipe(result, step, key)
    return None if recipe is _WHOLE else recipe[1]


def recipe_key(result: EvaluateResult, step: StepResult) -> tuple[Any, ...] | None:
    """What chooses the step's caption words (its gate, inputs, tie-break, kink convention and
    Gate.caption_branch's choice: a caption recipe's key); None for a gate whose words no key
    chooses."""
    node = result.circuit.nodes[step.node]
    op = node.op
    branch = GATES[op].caption_branch  # type: ignore[index]
    if branch is None:
        return None
    args = node.args
    values = result.values
    chosen = (
        None
        if branch is no_branch
        else branch([values[a] for a in args], values[step.node], node.const)
    )
    kink = step.kink
    return (op, len(args), result.tie_break, None if kink is None else kink.convention, chosen)


def _keyed_recipe(result: EvaluateResult, step: StepResult, key: tuple[Any, ...] | None) -> Recipe:
    """The step's recipe: the one kept for its key, or rendered (and kept, for a key and a gate of
    at most _RECIPE_MAX_ARGS inputs, while there is room)."""
    recipe = None if key is None else _RECIPES.get(key)
    if recipe is None:
        recipe = _recipe(result, step)
        if key is not None and len(_RECIPES) < _RECIPES_MAX and key[1] <= _RECIPE_MAX_ARGS:
            _RECIPES[key] = recipe
    return recipe


def _step_numbers(result: EvaluateResult, step: StepResult) -> list[Any]:
    """A step's numbers in the order Ref.code counts them: its upstream, its output's value, its
    inputs' values, then its local gradients and its contributions."""
    values = result.values
    return [
        step.upstream,
        values[step.node],
        *[values[a] for a in result.circuit.nodes[step.node].args],
        *step.local,
        *step.contributions,
    ]


def _recipe(result: EvaluateResult, step: StepResult) -> Recipe:
    """The step's caption rendered with placeholders for its wires' names and Refs for its
    numbers, split into its template and slots. Version 2 names each of the step's numbers in
    the template by what it is: {u} its upstream gradient, {o} its output's value, {xJ} its
    J-th input's value, {lJ} and {cJ} its J-th input's local gradient and contribution."""
    node = result.circuit.nodes[step.node]
    argc = len(node.args)
    nlocal = len(step.local)
    numbers = _step_numbers(result, step)
    names = ["u", "o"]
    names += [f"x{j}" for j in range(argc)]
    names += [f"l{j}" for j in range(nlocal)]
    names += [f"c{j}" for j in range(len(step.contributions))]
    refs = []
    for code, number in enumerate(numbers):
        ref = Ref(number)
        ref.code = code
        refs.append(ref)
    marks = _marks(argc)
    view = Step(
        marks[:argc],
        refs[2 : 2 + argc],
        refs[1],
        refs[0],
        refs[2 + argc : 2 + argc + nlocal],
        refs[2 + argc + nlocal :],
        node.const,
        result.tie_break,
        marks[argc],
    )
    captured: list[Any] = []
    token = captured_numbers.set(captured)
    try:
        text = result.rule(step, view=view)
    finally:
        captured_numbers.reset(token)
    if "{" in text or "}" in text or NUMBER_OVERFLOW in text:
        return _WHOLE
    parts = _PLACEHOLDER.split(text)
    named = [parts[0]]
    spec: list[int | str] = []
    order: list[int] = []
    for i in range(1, len(parts), 2):
        k = ord(parts[i])
        if k < NUMBER_MARK:
            named.append("{}")
            spec.append(_MARK - 1 - k)  # -1 - j: the step's j-th wire
            order.append(_MARK - 1 - k)
        else:
            order.append(k - NUMBER_MARK)
            if type(item := captured[k - NUMBER_MARK]) is Ref:
                named.append("{" + names[item.code] + "}")
            else:
                named.append("{}")
                spec.append(item)
        named.append(parts[i + 1])
    calls: list[int | str] = [c.code if type(c) is Ref else c for c in captured]
    return (
        ("".join(named), spec, all(type(k) is int for k in spec)),
        ("{}".join(parts[0::2]), calls, order),
    )


# Placeholders for a step's wires, by number of inputs: private-use characters below the
# numbers' (numbers.NUMBER_MARK).
_MAX_MARKS = NUMBER_MARK - _MARK
_MARKS: dict[int, tuple[str, ...]] = {}


def _marks(argc: int) -> tuple[str, ...]:
    found = _MARKS.get(argc)
    if found is None:
        found = _MARKS[argc] = tuple(chr(_MARK + j) for j in range(argc + 1))
    return found


def _mark(text: str, name: str, mark: str) -> str:
    """`text` with `name` replaced by `mark`; a name that is a word only where it stands alone
    (the x of max or exp, the g1 of g12 stay)."""
    if _WORD.fullmatch(name) is None:
        return text.replace(name, mark)
    out = []
    start = 0
    at = text.find(name)
    while at >= 0:
        end = at + len(name)
        alone = (at == 0 or not _word_char(text[at - 1])) and (
            end == len(text) or not _word_char(text[end])
        )
        if alone:
            out.append(text[start:at])
            out.append(mark)
            start = end
        at = text.find(name, end if alone else at + 1)
    out.append(text[start:])
    return "".join(out)


def _word_char(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def _has_mark(text: str) -> bool:
    return _PRIVATE.search(text) is not None


def _column(values: list[Any]) -> list[Any]:
    """JSON numbers of one column; floats stay floats unless one of them is not finite."""
    if all_floats(values):
        if all(map(math.isfinite, values)):
            return values
        return [json_number(v) for v in values]
    return [to_json(v) for v in values]


def all_floats(values: list[Any]) -> bool:
    """Whether every item is a plain float (map and set run in C: a column has a number per
    node or input port)."""
    return not values or set(map(type, values)) == {float}


def _elementwise(result: EvaluateResult, step: StepResult) -> bool:
    """Whether each contribution is exactly upstream × local (no vjp, no broadcast input)."""
    if result.fast:
        return True
    if any(local is None for local in step.local):
        return False
    out = np.shape(result.values[step.node])
    node = result.circuit.nodes[step.node]
    return all(np.shape(result.values[a]) == out for a in node.args)


def _structure(result: EvaluateResult, strings: _Strings) -> dict[str, Any]:
    """The node columns that depend on the circuit alone, not on the inputs' values. Texts are
    interned in the order the columns name them (their indices are the answer's)."""
    circuit = result.circuit
    names, texts = result.names, result.texts
    label: list[int] = []
    kind: list[str] = []
    op: list[int] = []
    argc: list[int] = []
    args: list[int] = []
    symbol: list[int] = []
    name_ref: list[int] = []
    span: list[int] = []
    offsets = Excerpts(result.expression).spans(circuit.nodes)
    previous_start = 0
    labels: dict[str, list[int]] = {}
    params: dict[str, Any] = {}
    index = strings.index
    intern = index.setdefault  # a new text gets the next index: len before it is added
    for node in circuit.nodes:
        node_args = node.args
        kind.append(node.kind[0])
        argc.append(len(node_args))
        args.extend([node.id - a for a in node_args])  # small numbers: most inputs are recent
        if node.op is None:  # an input or a constant: no arguments to name
            op.append(-1)
            symbol.append(intern(node_symbol(node), len(index)))
        else:
            op.append(intern(node.op, len(index)))
            gate = GATES[node.op]
            # a gate drawn with its own symbol is -1: no label, or a label that is the symbol
            if gate.label is None:
                symbol.append(-1)
            else:
                drawn = node_symbol(node, [names[a] for a in node_args])
                symbol.append(-1 if drawn == gate.symbol else intern(drawn, len(index)))
        name, text = names[node.id], texts[node.id]
        node_labels = node.labels
        if node_labels and name == node_labels[0]:
            name_ref.append(-3)
        elif name == text:
            name_ref.append(-1)
        elif name == f"({text})":
            name_ref.append(-2)
        else:
            name_ref.append(intern(name, len(index)))
        where = offsets[node.id]
        if where is None:
            span.extend((0, -1))
        else:
            start, end = where
            span.extend((start - previous_start, end - start))
            previous_start = start
        label.append(intern(node_labels[0], len(index)) if node_labels else -1)
        if len(node_labels) > 1:
            labels[str(node.id)] = [intern(extra, len(index)) for extra in node_labels]
        if node.const is not None and node.kind == "gate":  # param_of's None otherwise
            param = param_of(node, [names[a] for a in node_args])
            if param is not None:
                params[str(node.id)] = param
    return {
        "kind": "".join(kind),
        "op": op,
        "argc": argc,
        "args": args,
        "symbol": symbol,
        "name": name_ref,
        "span": span,
        "label": label,
        "labels": labels,
        "param": params,
    }


def compact(result: EvaluateResult, echo: bool = True, version: int = 1) -> dict[str, Any]:
    """The columnar answer (what the page asks for), with the expression unless not `echo`, in
    `version` 1 or 2 (2: a scalar circuit's templates name the step's numbers). See the module
    docstring and README."""
    return compact_keyed(result, echo, version)[0]


def compact_keyed(result: EvaluateResult, echo: bool, version: int) -> tuple[dict[str, Any], bool]:
    """compact()'s answer, and whether its captions were chosen by their recipes' keys alone
    (_Captions.by_key: what answer_templates.compact_json needs to keep a template)."""
    if version not in COMPACT_VERSIONS:
        raise ValueError(f"compact answer version {version}: there are {COMPACT_VERSIONS}")
    circuit = result.circuit
    nodes = circuit.nodes
    values = result.values
    # A circuit from the parse cache keeps its structure columns (and the strings they point
    # to), its gate table and its index inputs in result.memo, so re-evaluating it with new
    # inputs encodes only the numbers.
    memo = result.memo
    known = memo.get("compact") if memo is not None else None
    if known is None:
        strings = _Strings()
        structure = _structure(result, strings)
        gates, index_inputs = _gate_table(circuit), index_input_names(circuit)
        if memo is not None:
            memo["compact"] = (dict(strings.index), structure, gates, index_inputs)
    else:
        strings = _Strings()
        strings.index = dict(known[0])
        structure, gates, index_inputs = known[1:]
    shape: dict[str, list[int]] = {}
    if not result.fast:
        for node in nodes:
            if np.ndim(values[node.id]):
                shape[str(node.id)] = list(np.shape(values[node.id]))

    steps = result.steps
    order = [step.node for step in steps]
    known_steps = memo.get("compact_steps") if memo is not None else None
    if known_steps is not None and known_steps[0] == order:
        _, step_node, usec, uses = known_steps
    else:
        step_node, usec, uses = _step_structure(result)
        if memo is not None:
            memo["compact_steps"] = (order, step_node, usec, uses)
    local: list[Any] = []
    contributions: dict[str, list[Any]] = {}
    kinks: dict[str, list[Any]] = {}
    captions = _Captions(strings)
    fast = result.fast
    for index, step in enumerate(steps):
        local.extend(step.local)
        if not fast and not _elementwise(result, step):
            contributions[str(index)] = [to_json(c) for c in step.contributions]
        if step.kink is not None:
            kink = step.kink
            kinks[str(index)] = [
                strings(kink.kind),
                strings(kink.convention),
                kink.as_dict()["interval"],
                kink.count,
            ]
    if fast:
        captions.add_rendered(result, named_numbers=version >= 2)
    else:
        for step in steps:
            captions.add(result.rule(step), _wires(result, step))

    echoed = {"expression": result.expression} if echo else {}
    answer = {
        "format": "compact",
        "version": version,
        **echoed,
        "inputs": list(circuit.input_names),
        "index_inputs": index_inputs,
        "output": circuit.output,
        "output_grad": json_number(result.output_grad),
        "strings": strings.table(),
        "gates": gates,
        "nodes": {
            **structure,
            "value": _column(values),
            "grad": _column(result.grads),
            "shape": shape,
        },
        "steps": {
            "node": step_node,
            "local": _column_optional(local),
            "usec": usec,
            "uses": uses,
            "contribution": contributions,
            "kink": kinks,
            "rule": captions.rule,
            "slots": captions.slots,
        },
        "templates": list(captions.templates),
        "warnings": result.warnings,
        "stats": _stats(result),
        "gradcheck": result.gradcheck,
    }
    return answer, fast and captions.by_key


def _gate_table(circuit: Circuit) -> dict[str, dict[str, str]]:
    """Each gate the circuit uses, by name in sorted order: its symbol and derivative."""
    ops = {node.op for node in circuit.nodes if node.op is not None}
    return {
        name: {"symbol": GATES[name].symbol, "formula": GATES[name].derivative}
        for name in sorted(ops)
    }


def _wires(result: EvaluateResult, step: StepResult) -> list[str]:
    """The names of a step's wires: its inputs in port order, then its own output."""
    names = result.names
    return [names[a] for a in result.circuit.nodes[step.node].args] + [names[step.node]]


def _step_structure(result: EvaluateResult) -> tuple[list[int], list[int], list[int]]:
    """The step columns that depend on the circuit alone: each step's node (as the distance
    back from the previous step's), and the cached values each input's rule reads."""
    nodes = result.circuit.nodes
    step_node: list[int] = []
    usec: list[int] = []
    uses: list[int] = []
    previous_node = len(nodes)
    for step in result.steps:
        node = nodes[step.node]
        step_node.append(previous_node - step.node)  # steps walk back: small positive gaps
        previous_node = step.node
        for port_uses in step.uses:
            usec.append(len(port_uses))
            for used in port_uses:
                uses.append(_relative(used, node.id, node.args))
    return step_node, usec, uses


def _column_optional(values: list[Any]) -> list[Any]:
    if all_floats(values):
        return _column(values)
    return [None if v is None else to_json(v) for v in values]


def _relative(used: int, node_id: int, node_args: tuple[int, ...]) -> int:
    """A cached value as the reader finds it: k ≥ 0 is the node's k-th input, -1 the node
    itself, and -2 - id any other node."""
    if used == node_id:
        return -1
    if used in node_args:
        return node_args.index(used)
    return -2 - used
