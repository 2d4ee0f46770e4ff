"""A circuit's cost predicted from its parsed nodes and wire shapes, before run() starts.

The answer lists every wire's value and gradient, each edge's value and gradient, and for each
backward step its upstream gradient and, per input, the local gradient, contribution and running
sum. So its size is linear in nodes + edges + the elements of those arrays, and so is the memory
of building it (numpy arrays, then Python lists of floats, then the JSON text). Work counts
element operations and multiply-adds; a gradient check runs one forward pass per nudge, two
nudges per input element.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence

from app.core.limits import Cost
from app.engine.circuit import Circuit
from app.engine.gates import GATES

Shape = tuple[int, ...]

# Calibrated with bench/cost_calibration.py on this project's reference machine (numbers in
# docs/deploy.md, "Sizing"). Answer bytes per reported number: a random float64 is 18-19
# characters plus its comma; zeros and integers are shorter, so this is an upper bound.
B_NUMBER = 20
# Per node (id, kind, op, symbol, labels, text, span ...) and per edge (the edge record, its step
# input with `uses`, the kink interval and its name in the rule): measured means, rounded up.
B_NODE = 400
B_EDGE = 220
B_BASE = 400
# Memory per reported number while the answer is built: a Python float (24 bytes) and its list
# slot (8) for to_json's lists, the float64 (8) it came from, and numpy temporaries (measured).
B_LISTED = 56
# The report's dicts and strings per node and per edge, measured with tracemalloc (1,500 until
# the scalar path's kinks stopped making a numpy array per input: a 1,000-input max fell to
# 0.74 MB from 0.82 MB, and 1,500 put its prediction over twice that).
M_NODE = 1_300
M_BASE = 120_000  # tracemalloc's peak for a 13-node neuron with gradcheck: 130 KB (ASCII captions)
# Work, in element operations (about 1 ns each on one quiet core): a gate's Python overhead in a
# forward pass is worth about this many (a few µs), and writing one number to the answer about
# this many (to_json's tolist, then json.dumps's repr).
W_GATE = 2_000
W_NUMBER = 800
# Building the answer's records costs about this much per node and per edge (names, rule text,
# the kink, the dicts), whatever the wires hold.
W_RECORD = 25_000
# A gradient check's forward passes also record which side of each kink every gate is on, and
# each runs on small arrays, so a gate costs more there than in the main pass.
W_GATE_CHECK = 20_000
# A compact answer of a circuit parsed before (a slider moving an input): no parse, and its
# structure and step columns are kept with the parse (encode.py), so a node or an edge costs
# its numbers and its step's caption. Measured on 13 circuits (docs/benchmarks.md, "The cost
# of a re-evaluation"): at least 2.2x the CPU of a re-evaluation, and 1.9x that of the first
# compact answer after a parse (which builds the columns).
W_RECORD_REUSED = 8_000
W_BASE_REUSED = 500_000  # the request's own share: the answer's frame, the cache lookup, orjson


def elements(shape: Shape) -> int:
    return math.prod(shape) if shape else 1


def forward_work(
    circuit: Circuit,
    shapes: Sequence[Shape],
    per_gate: int = W_GATE,
    sizes: Sequence[int] | None = None,
) -> int:
    """Element operations and multiply-adds of one forward pass, plus `per_gate` per gate.
    `sizes`: each node's elements, when the caller has them."""
    if sizes is None:
        sizes = [elements(shape) for shape in shapes]
    work = 0
    for node in circuit.nodes:
        if node.kind != "gate":
            continue
        args = node.args
        contraction = GATES[node.op].multiply_adds  # type: ignore[index]
        if contraction is not None:
            work += contraction(shapes[node.id], [shapes[a] for a in args])
        else:
            work += sizes[node.id] * max(1, len(args))
            for a in args:
                work += sizes[a]
        work += per_gate
    return work


def estimate(
    circuit: Circuit,
    shapes: Sequence[Shape],
    source_chars: int,
    gradcheck: bool,
    parts: Collection[str] | None = None,
    reused: bool = False,
) -> Cost:
    """Predicted answer bytes, peak memory and work of evaluating `circuit` (with its shapes),
    for the whole answer (parts None) or only the verbose answer's fields in `parts`. `reused`:
    a compact answer of a circuit whose compact columns are already kept (the records' work is
    W_RECORD_REUSED, not W_RECORD)."""
    nodes = len(circuit.nodes)
    edges = 0
    numbers = 0  # numbers in the answer
    input_elements = 0
    sizes = [elements(shape) for shape in shapes]
    for node in circuit.nodes:
        own = sizes[node.id]
        numbers += 2 * own  # the wire's value and gradient
        if node.kind == "input":
            input_elements += own
            numbers += own  # its entry in `gradients`
            continue
        if node.kind != "gate":
            continue
        numbers += own  # the backward step's upstream gradient
        local = GATES[node.op].vjp is None  # type: ignore[index]  # vjp gates list no local
        for arg in node.args:
            edges += 1
            arg_own = sizes[arg]
            # the edge's value and gradient; the step's local gradient (output-shaped),
            # contribution and running sum (input-shaped)
            numbers += 2 * arg_own + (own if local else 0) + 2 * arg_own
    forward = forward_work(circuit, shapes, sizes=sizes)
    # forward, the local gradients and the contributions: about three forward passes
    work = 3 * forward
    if gradcheck:
        numbers += 2 * input_elements  # analytic and numeric
        work += 2 * input_elements * forward_work(circuit, shapes, W_GATE_CHECK, sizes)
    answer = B_BASE + source_chars + B_NODE * nodes + B_EDGE * edges + B_NUMBER * numbers
    memory = M_BASE + M_NODE * (nodes + edges) + B_LISTED * numbers + 2 * answer
    if parts is None:
        record, base = (W_RECORD_REUSED, W_BASE_REUSED) if reused else (W_RECORD, 0)
        work += numbers * W_NUMBER + record * (nodes + edges) + base
        return Cost(answer, memory, work)
    sent, part_bytes, records = _parts(circuit, shapes, source_chars, gradcheck, set(parts))
    # Never more than the whole answer (both are upper bounds); every wire's arrays are still
    # computed (B_ARRAY per number), only the numbers sent become Python floats and text.
    part_answer = min(answer, part_bytes)
    part_memory = M_BASE + (M_NODE if records else M_TYPED) * (nodes + edges) + B_ARRAY * numbers
    part_memory += (B_LISTED - B_ARRAY) * sent + 2 * part_answer
    whole_work = work + numbers * W_NUMBER + W_RECORD * (nodes + edges)
    work += sent * W_NUMBER + (W_RECORD if records else W_TYPED) * (nodes + edges)
    return Cost(part_answer, min(memory, part_memory), min(whole_work, work))


# Upper bounds (not means) of each part's records without their numbers, measured over the
# circuits of tests/test_cost_model.py and tests/test_answer_parts.py: a node's row (a long
# stage name and excerpt included) and each of its inputs' ids; an edge's row; a step's row
# (its caption grows with its inputs, counted in the step input); the output's record; each
# input's name in a list; a gradient check row; the non-finite warnings (3 kinds, 2 passes).
P_NODE = 300
P_NODE_INPUT = 8
P_EDGE = 120
P_STEP = 400
P_STEP_INPUT = 170
P_FORWARD = 10
P_OUTPUT = 100
P_NAME = 4
P_GRADCHECK = 300
P_WARNINGS = 1_500
P_STATS = 80
# Memory per number counted above that is computed but not sent: its float64 (an edge's value
# and a step's running sum are the same arrays as a wire's, so less than 8 on average), and per
# node and edge the typed steps without the answer's rows; tracemalloc's peaks over
# tests/test_cost_model.py's circuits asking for gradients only or the output only.
B_ARRAY = 6
M_TYPED = 400
# Typing the trace (each step's cached values and kink) when no per-node record is built.
W_TYPED = 3_000


def _parts(
    circuit: Circuit, shapes: Sequence[Shape], source_chars: int, gradcheck: bool, want: set[str]
) -> tuple[int, int, bool]:
    """Numbers sent, answer bytes and whether per-node records are built, for `want`."""
    sent = 0
    size = B_BASE
    names = list(circuit.input_names)
    name_bytes = sum(len(name.encode()) + P_NAME for name in names)
    input_elements = sum(
        elements(shapes[node.id]) for node in circuit.nodes if node.kind == "input"
    )
    records = bool(want & {"nodes", "edges", "backward"})
    if "expression" in want:
        size += 2 * source_chars  # each newline or quote is escaped as two characters
    if "output" in want:
        sent += elements(shapes[circuit.output])
        size += P_OUTPUT
    if "inputs" in want:
        size += name_bytes
    if "index_inputs" in want:
        size += name_bytes
    if "gradients" in want:
        sent += input_elements
        size += name_bytes
    if "forward" in want:
        size += P_FORWARD * len(circuit.nodes)
    if "warnings" in want:
        size += P_WARNINGS + sum(len(str(w).encode()) + P_NAME for w in circuit.warnings)
    if "stats" in want:
        size += P_STATS
    if "gradcheck" in want and gradcheck:
        sent += 2 * input_elements
        size += name_bytes + P_GRADCHECK * len(names)
    for node in circuit.nodes:
        own = elements(shapes[node.id])
        if "nodes" in want:
            sent += 2 * own
            size += P_NODE + P_NODE_INPUT * len(node.args)
        if node.kind != "gate":
            continue
        local = GATES[node.op].vjp is None  # type: ignore[index]
        if "backward" in want:
            sent += own
            size += P_STEP
        for arg in node.args:
            arg_own = elements(shapes[arg])
            if "edges" in want:
                sent += 2 * arg_own
                size += P_EDGE
            if "backward" in want:
                sent += (own if local else 0) + 2 * arg_own
                size += P_STEP_INPUT
    return sent, size + B_NUMBER * sent, records
