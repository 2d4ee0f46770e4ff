"""The gate table: one entry per gate with its symbol, arity, forward, local derivatives and rule."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np

from app.engine.numbers import fmt, json_number

Array = np.ndarray
TIE_BREAKS = ("split", "first")


# Not frozen: a frozen dataclass's __init__ sets each field through object.__setattr__ (2.5 µs
# for these nine), and every answer builds one per backward step. Explain functions only read it.
@dataclass(slots=True)
class Step:
    """What a caption needs about one backward step: names, cached values and the numbers.

    A gate with a scalar version must write `names` and `out_name` into its caption as they are
    and its numbers only through fmt: the compact encoder renders a scalar circuit's captions
    with placeholders for both (app/engine/encode.py), and tests/test_compact_format.py checks
    the result against the verbose caption for every scalar gate.
    """

    names: Sequence[str]
    xs: Sequence[Any]
    out: Any
    upstream: Any
    local: Sequence[Any]
    contributions: Sequence[Any]
    param: Any = None
    tie_break: str = "split"
    out_name: str = "out"  # the gate's own wire, for tensor rules such as dW = dD @ X.T


@dataclass(frozen=True, slots=True)
class Kink:
    """A point where the gate is not differentiable: the convention used and the valid range."""

    kind: str  # "tie" | "relu0" | "abs0" | "sqrt0"
    convention: str
    interval: list[list[float]]  # per input: [lowest, highest] valid local gradient
    count: int = 1  # elements at the kink (tensors)

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "convention": self.convention,
            # sqrt's [Infinity, Infinity] as strings: the answer is strict JSON throughout.
            "interval": [[json_number(v) for v in pair] for pair in self.interval],
            "count": self.count,
        }


@dataclass(frozen=True, slots=True)
class Gate:
    """One gate: how it computes, how it differentiates, and how the course explains it.

    `local(xs, out, param, tie_break)` returns one elementwise local derivative per input; the
    engine multiplies by the upstream gradient and sums broadcast axes back. Gates whose
    gradient is not elementwise (matmul, reductions) give `vjp(g, xs, out, param)` instead.
    `scalar_forward` / `scalar_local` are optional plain-float versions for the scalar fast path.
    """

    name: str
    symbol: str
    arity: tuple[int, int | None]
    forward: Callable[..., Any]
    derivative: str
    rule: str
    explain: Callable[[Step], str]
    local: Callable[..., list[Any]] | None = None
    vjp: Callable[..., list[Any]] | None = None
    kink: Callable[..., Kink | None] | None = None
    scalar_forward: Callable[..., float] | None = None
    scalar_local: Callable[..., list[float]] | None = None
    infix: bool = False  # drawn and written between its inputs (x + y) rather than as f(x)
    by_name: bool = True  # callable by name in the language, e.g. exp(x); operators are not
    # A reserved name cannot name a stage. `dot` is not reserved: the course's staged neuron
    # writes `dot = w0*x0 + ...`, and a call dot(a, b) is still told apart by its '('.
    reserved: bool = True
    params: tuple[int, int] = (0, 0)  # how many trailing constant arguments, e.g. sum(x, 0)
    # Output shape from input shapes, raising app.engine.shapes.ShapeError in dimension terms;
    # None means elementwise under numpy broadcasting (see app/engine/shapes.py).
    shape: Callable[..., tuple[int, ...]] | None = None
    # The language's operator token: infix between two inputs (x + y) or prefix on one (-x).
    # The parser's operator tables are read from these fields; a higher precedence binds tighter.
    operator: str | None = None
    precedence: int | None = None
    right_assoc: bool = False
    # The gate the operator builds instead when its right operand is a constant (x**2 is pow).
    constant_form: str | None = None
    # uses(out, args, port): the node ids whose cached forward values input `port`'s local
    # gradient is computed from (the page highlights them). Required: say [] when none.
    uses: Callable[[int, Sequence[int], int], list[int]] | None = None
    # multiply_adds(out_shape, arg_shapes) for a contraction (@, dot), which the cost model and
    # the BPC_MAX_TENSOR_MATMUL_WORK limit count; None means elementwise work.
    multiply_adds: Callable[[tuple[int, ...], Sequence[tuple[int, ...]]], int] | None = None
    # label(param, arg_names): how the diagram labels a gate whose constant arguments matter
    # (**2, sum(axis=0), [y]), or None for its symbol.
    label: Callable[[Any, Sequence[str]], str | None] | None = None
    # caption_branch(xs, out, param) on the scalar fast path: what, besides the wires' names,
    # the step's own numbers, the tie-break and the kink, chooses the words of this gate's
    # caption (which input won, whether relu's input was positive, pow's constant). Two steps
    # with the same branch get the same caption with their own names and numbers filled in,
    # so the compact encoder renders it once (encode.py, caption recipes). None: render
    # every step. A gate whose caption writes a number computed from its numbers (fmt(1 - out))
    # must not have one; tests/test_compact_format.py checks every gate's captions.
    caption_branch: Callable[[Sequence[Any], Any, Any], Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        low, high = self.arity
        return {
            "name": self.name,
            "symbol": self.symbol,
            "arity": low if low == high else {"min": low, "max": high},
            "derivative": self.derivative,
            "rule": self.rule,
        }


GATES: dict[str, Gate] = {}


class IncompleteGate(ValueError):
    """A gate that cannot be registered: it names the gate and what is missing or inconsistent."""


def register(gate: Gate, table: dict[str, Gate] | None = None) -> Gate:
    """Adds `gate` to the table (GATES unless given), refusing it at import time when incomplete.

    A missing rule would otherwise surface only when a student's circuit first reaches the
    gate, as autograd's core raises for an op without a vjp.
    """
    table = GATES if table is None else table
    problem = _incomplete(gate, table)
    if problem is not None:
        raise IncompleteGate(f"gate '{gate.name}' {problem}")
    table[gate.name] = gate
    return gate


def _incomplete(gate: Gate, table: dict[str, Gate]) -> str | None:
    if gate.name in table:
        return "is already registered"
    if gate.local is None and gate.vjp is None:
        return "has no backward rule: give it local (elementwise) or vjp"
    if gate.uses is None:
        return "does not say which cached values its rule uses: give it uses (no_uses if none)"
    if gate.infix and gate.operator is None:
        return "is drawn infix but has no operator token"
    if gate.operator is None:
        if gate.precedence is not None or gate.right_assoc or gate.constant_form is not None:
            return "has a precedence, associativity or constant form but no operator token"
        return None
    if gate.precedence is None:
        return f"has the operator '{gate.operator}' but no precedence"
    if gate.arity not in ((1, 1), (2, 2)):
        return f"has the operator '{gate.operator}' but an operator takes one or two inputs"
    if gate.arity == (2, 2) and not gate.infix:
        return f"has the binary operator '{gate.operator}' but is not drawn infix"
    for other in table.values():
        if other.operator == gate.operator and other.arity == gate.arity:
            return f"has the operator '{gate.operator}', which is already gate '{other.name}''s"
    if gate.constant_form is not None and gate.constant_form not in table:
        return f"has the constant form '{gate.constant_form}', which is not registered"
    return None


def operators(table: dict[str, Gate], arity: int) -> dict[str, Gate]:
    """The language's operators taking `arity` inputs (2: infix, 1: prefix), by token."""
    return {g.operator: g for g in table.values() if g.operator is not None and g.arity[0] == arity}


# Which cached values a rule reads, shared by the gates whose rules read the same ones.
def no_uses(out: int, args: Sequence[int], port: int) -> list[int]:
    return []


def uses_other(out: int, args: Sequence[int], port: int) -> list[int]:
    return [args[1 - port]]  # multiply swaps: x's gradient is y · upstream


def uses_input(out: int, args: Sequence[int], port: int) -> list[int]:
    return [args[0]]


def uses_output(out: int, args: Sequence[int], port: int) -> list[int]:
    return [out]  # computed from its own output, e.g. exp' = exp


def _div_uses(out: int, args: Sequence[int], port: int) -> list[int]:
    return [args[1]] if port == 0 else [args[0], args[1]]


def _pow_xy_uses(out: int, args: Sequence[int], port: int) -> list[int]:
    return list(args) + ([out] if port == 1 else [])


def _route_uses(out: int, args: Sequence[int], port: int) -> list[int]:
    # input i's local gradient is [x_i == out] (shared out among ties): it reads x_i and the
    # output only, so the answer stays linear in the arguments. With tie_break "first" it also
    # depends on whether an earlier input tied, which the kink says.
    return [args[port], out]


# What chooses a caption's words (Gate.caption_branch).
def no_branch(xs: Sequence[Any], out: Any, param: Any) -> None:
    return None  # the same words for every step: only names and numbers change


def _param_branch(xs: Sequence[Any], out: Any, param: Any) -> str:
    return repr(param)  # the caption writes its constant (and numbers made from it); a NaN too


# ---------------------------------------------------------------- arithmetic


def _explain_add(s: Step) -> str:
    # 1 · upstream is the upstream itself, for both inputs; an input that was broadcast has it
    # summed back to its shape afterwards, which the broadcasting note says
    return (
        f"add gate distributes the upstream gradient {fmt(s.upstream)} unchanged to both inputs: "
        f"{s.names[0]} and {s.names[1]} each receive 1 · {fmt(s.upstream)} = {fmt(s.upstream)}"
    )


register(
    Gate(
        "add",
        "+",
        (2, 2),
        np.add,
        "d/dx (x + y) = 1, d/dy (x + y) = 1",
        "add gate distributes: every input receives the upstream gradient unchanged",
        _explain_add,
        local=lambda xs, out, p, t: [np.ones_like(out), np.ones_like(out)],
        scalar_forward=lambda a, b: a + b,
        scalar_local=lambda xs, out, p, t: [1.0, 1.0],
        infix=True,
        by_name=False,
        operator="+",
        precedence=10,
        uses=no_uses,
        caption_branch=no_branch,
    )
)


def _explain_sub(s: Step) -> str:
    return (
        f"subtract gate distributes with a sign: {s.names[0]} receives +1 · {fmt(s.upstream)} = "
        f"{fmt(s.contributions[0])}, {s.names[1]} receives -1 · {fmt(s.upstream)} = {fmt(s.contributions[1])}"
    )


register(
    Gate(
        "sub",
        "−",
        (2, 2),
        np.subtract,
        "d/dx (x - y) = 1, d/dy (x - y) = -1",
        "subtract gate distributes: the first input receives the upstream gradient, the second its negative",
        _explain_sub,
        local=lambda xs, out, p, t: [np.ones_like(out), -np.ones_like(out)],
        scalar_forward=lambda a, b: a - b,
        scalar_local=lambda xs, out, p, t: [1.0, -1.0],
        infix=True,
        by_name=False,
        operator="-",
        precedence=10,
        uses=no_uses,
        caption_branch=no_branch,
    )
)


def _explain_mul(s: Step) -> str:
    a, b = s.names
    return (
        f"multiply gate swaps: {a} receives {b} · upstream = {fmt(s.xs[1])} · {fmt(s.upstream)} = "
        f"{fmt(s.contributions[0])}; {b} receives {a} · upstream = {fmt(s.xs[0])} · {fmt(s.upstream)} = "
        f"{fmt(s.contributions[1])}"
    )


register(
    Gate(
        "mul",
        "×",
        (2, 2),
        np.multiply,
        "d/dx x*y = y, d/dy x*y = x",
        "multiply gate swaps: each input receives the other input's value times the upstream gradient",
        _explain_mul,
        local=lambda xs, out, p, t: [xs[1] * np.ones_like(out), xs[0] * np.ones_like(out)],
        scalar_forward=lambda a, b: a * b,
        scalar_local=lambda xs, out, p, t: [xs[1], xs[0]],
        infix=True,
        by_name=False,
        operator="*",
        precedence=20,
        uses=uses_other,
        caption_branch=no_branch,
    )
)


def _explain_div(s: Step) -> str:
    a, b = s.names
    return (
        f"divide gate: {a} receives upstream / {b} = {fmt(s.upstream)} / {fmt(s.xs[1])} = "
        f"{fmt(s.contributions[0])}; {b} receives -{a}/{b}² · upstream = {fmt(s.local[1])} · "
        f"{fmt(s.upstream)} = {fmt(s.contributions[1])}"
    )


register(
    Gate(
        "div",
        "÷",
        (2, 2),
        np.divide,
        "d/dx x/y = 1/y, d/dy x/y = -x/y²",
        "divide gate: the numerator receives upstream / denominator, the denominator -x/y² · upstream",
        _explain_div,
        # -(x/y)/y rather than -x/y²: y² overflows at |y| > 1e154 where x/y/y does not (PyTorch).
        local=lambda xs, out, p, t: [
            1.0 / xs[1] * np.ones_like(out),
            -(xs[0] / xs[1]) / xs[1] * np.ones_like(out),
        ],
        scalar_forward=lambda a, b: a / b,
        scalar_local=lambda xs, out, p, t: [1.0 / xs[1], -(xs[0] / xs[1]) / xs[1]],
        infix=True,
        by_name=False,
        operator="/",
        precedence=20,
        uses=_div_uses,
        caption_branch=no_branch,
    )
)

register(
    Gate(
        "neg",
        "neg",  # not "−": that is the subtract gate's, and the diagram must tell them apart
        (1, 1),
        np.negative,
        "d/dx (-x) = -1",
        "negate gate flips the sign of the upstream gradient",
        lambda s: (
            f"negate gate flips the sign: {s.names[0]} receives -1 · {fmt(s.upstream)} = {fmt(s.contributions[0])}"
        ),
        local=lambda xs, out, p, t: [-np.ones_like(out)],
        scalar_forward=lambda a: -a,
        scalar_local=lambda xs, out, p, t: [-1.0],
        by_name=False,
        operator="-",
        precedence=30,
        uses=no_uses,
        caption_branch=no_branch,
    )
)


def _pow_const(x: Any, c: float) -> Any:
    return np.power(x, c)


def _pow_const_local(xs: Sequence[Any], out: Any, c: float, t: str) -> list[Any]:
    # PyTorch's conventions: d/dx x**0 is 0 everywhere (0·x**-1 would be NaN at 0), and x**0.5
    # is sqrt (numpy computes it so), whose derivative 0.5/√x keeps the sign of a -0 input.
    if c == 0:
        return [np.zeros_like(out)]
    if c == 0.5:
        return [0.5 / out]
    return [c * np.power(xs[0], c - 1.0) * np.ones_like(out)]


def _power_xy(x: Any, y: Any) -> Any:
    """x ** y through numpy's array-exponent loop whatever the shapes. numpy computes a power
    with a 0-d exponent with the C library's pow but one with an array exponent with its own
    SIMD code, and the two can differ in the last bit (15.4867... ** (1.255e-270 - 1)): a
    scalar circuit and its 1-element tensor twin would part there. The exponent is at least
    1-D here, so both take the same loop (broadcasting a (1,) exponent gives the same bits)."""
    shape = np.broadcast_shapes(np.shape(x), np.shape(y))
    return np.power(np.atleast_1d(x), np.atleast_1d(y)).reshape(shape)


def _pow_xy(x: Any, y: Any) -> Any:
    # numpy computes x**0.5 as sqrt(x) when the exponent is a scalar (so (-0)**0.5 is -0) but
    # with pow when it is an array (+0): take sqrt wherever y is 0.5, so a scalar, a 1-element
    # tensor and the constant-exponent gate all agree (PyTorch's pow gives +0 there; README).
    return np.where(np.asarray(y) == 0.5, np.sqrt(x), _power_xy(x, y))[()]


def _pow_xy_local(xs: Sequence[Any], out: Any, p: Any, t: str) -> list[Any]:
    # PyTorch's conventions at base 0: x**y is constant in x where y = 0, and in y where x = 0
    # and y >= 0 (0**y is 0 or 1 there), so those local gradients are 0, not 0·ln 0 = NaN.
    x, y = np.asarray(xs[0], dtype=np.float64), np.asarray(xs[1], dtype=np.float64)
    ones = np.ones_like(out)
    d_base = np.where(y == 0, 0.0, y * _power_xy(x, y - 1.0)) * ones
    d_exponent = np.where((x == 0) & (y >= 0), 0.0, out * np.log(x)) * ones
    return [d_base[()], d_exponent[()]]


# The table's rules that take a setting (a word, a ufunc, a numpy rule) are plain functions with
# the setting bound by partial(), not closures made by a factory: a factory runs once, at import,
# so mutation testing (which switches a function's mutants when it is called) never saw its
# mutants run. CONTRIBUTING.md, "Mutation testing".


def _as_floats(
    local: Callable[..., list[Any]], xs: Sequence[float], out: float, p: Any, t: str
) -> list[float]:
    """A numpy local rule run on float64 scalars, so the fast path rounds exactly as arrays do."""
    arrays = [np.float64(x) for x in xs]
    return [float(g) for g in local(arrays, np.float64(out), p, t)]


def _as_float(forward: Callable[..., Any], *xs: Any) -> float:
    """A numpy forward run on a float64 scalar, so the fast path rounds exactly as arrays do:
    Python's pow and math's exp, log and tanh can differ from numpy's in the last bit."""
    return float(forward(*[np.float64(x) for x in xs]))


register(
    Gate(
        "pow",
        "**c",
        (1, 1),
        _pow_const,
        "d/dx x**c = c·x**(c-1)",
        "power gate: the input receives c·x^(c-1) times the upstream gradient",
        lambda s: (
            f"power gate: {s.names[0]} receives {fmt(s.param)}·{s.names[0]}^{fmt(s.param - 1)} · upstream = "
            f"{fmt(s.local[0])} · {fmt(s.upstream)} = {fmt(s.contributions[0])}"
        ),
        local=_pow_const_local,
        scalar_forward=lambda a, c: float(np.power(np.float64(a), c)),
        scalar_local=partial(_as_floats, _pow_const_local),
        by_name=False,
        uses=uses_input,
        caption_branch=_param_branch,
        label=lambda c, names: f"**{fmt(c)}",
    )
)

register(
    Gate(
        "pow_xy",
        "**",
        (2, 2),
        _pow_xy,
        "d/dx x**y = y·x**(y-1), d/dy x**y = x**y·ln x",
        "power gate: the base receives y·x^(y-1) · upstream, the exponent x^y·ln(x) · upstream",
        lambda s: (
            f"power gate: {s.names[0]} receives {s.names[1]}·{s.names[0]}^({s.names[1]}-1) · upstream = "
            f"{fmt(s.contributions[0])}; {s.names[1]} receives {s.names[0]}^{s.names[1]}·ln {s.names[0]} · "
            f"upstream = {fmt(s.contributions[1])}"
        ),
        local=_pow_xy_local,
        scalar_forward=partial(_as_float, _pow_xy),
        scalar_local=partial(_as_floats, _pow_xy_local),
        infix=True,
        by_name=False,
        operator="**",
        precedence=40,
        right_assoc=True,
        constant_form="pow",
        uses=_pow_xy_uses,
        caption_branch=no_branch,
    )
)


# ---------------------------------------------------------------- routing: max and min


def _winners(xs: Sequence[Any], out: Any) -> list[Any]:
    return [np.asarray(x) == out for x in xs]


def _route_local(xs: Sequence[Any], out: Any, param: Any, tie_break: str) -> list[Any]:
    winners = _winners(xs, out)
    if tie_break == "first":
        taken = np.zeros(np.shape(out), dtype=bool)
        local = []
        for mask in winners:
            mine = mask & ~taken
            taken = taken | mask
            local.append(mine.astype(np.float64) * np.ones_like(out))
        return local
    count = sum(mask.astype(np.float64) for mask in winners)
    return [mask / np.maximum(count, 1.0) * np.ones_like(out) for mask in winners]


def _sole_winner(xs: Sequence[float], out: float) -> int:
    """The index of the one plain-float input equal to `out`, or -1 (none, a tie, or a NaN
    output). count() and index() run in C and also match the very object, which only a NaN
    tells apart from ==: a NaN output is ruled out first."""
    if out == out and xs.count(out) == 1:
        return xs.index(out)
    return -1


def _route_scalar_local(xs: Sequence[float], out: float, param: Any, tie_break: str) -> list[float]:
    sole = _sole_winner(xs, out)
    if sole >= 0:  # no tie (the usual case): either tie-break sends it all to the winner
        local = [0.0] * len(xs)
        local[sole] = 1.0
        return local
    winners = [x == out for x in xs]
    if tie_break == "first":
        first = winners.index(True) if True in winners else -1
        return [1.0 if i == first else 0.0 for i in range(len(xs))]
    share = 1.0 / max(1, sum(winners))
    return [share if won else 0.0 for won in winners]


def _route_kink(xs: Sequence[Any], out: Any, param: Any, tie_break: str) -> Kink | None:
    # the scalar fast path's plain floats, and no tie: no numpy needed. count() finds the
    # inputs equal to the output, or the very object (a NaN): a tie or a NaN output looks on
    if type(out) is float and xs.count(out) < 2:
        return None
    winners = _winners(xs, out)
    count = sum(mask.astype(np.int64) for mask in winners)
    tied = np.asarray(count > 1)
    if not tied.any():
        return None
    convention = (
        "ties split the gradient evenly between the tied inputs (PyTorch's convention)"
        if tie_break == "split"
        else "ties send the whole gradient to the first tied input"
    )
    interval = [[0.0, 1.0] if bool(np.any(mask & tied)) else [0.0, 0.0] for mask in winners]
    return Kink(
        "tie",
        convention + "; any non-negative split that sums to 1 is a valid subgradient",
        interval,
        int(tied.sum()),
    )


def _listed(names: Sequence[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _explain_route(word: str, s: Step) -> str:
    extreme = "larger" if word == "max" else "smaller"
    if any(type(x) is not float and np.ndim(x) for x in s.xs):
        return f"{word} gate routes the upstream gradient elementwise to whichever input was the {word}"
    up = fmt(s.upstream)
    # The winners are the inputs equal to the output, whatever the local gradients say:
    # under "first" a tied input gets 0 but still won, and the caption must say it is a tie.
    tied = [i for i, x in enumerate(s.xs) if x == s.out]
    if not tied:  # a NaN input: nothing equals the output, so no input gets gradient
        return f"{word} gate's output is {fmt(s.out)}: no input won, so every input gets 0"

    def zero(indices: list[int]) -> str:
        if not indices:
            return ""
        verb = "gets 0" if len(indices) == 1 else "get 0"
        return f"; {_listed([s.names[i] for i in indices])} {verb}"

    won = set(tied)  # a set: 20,000 tied arguments must not cost 20,000 x 20,000 here
    losers = [i for i in range(len(s.xs)) if i not in won]
    if len(tied) == 1:
        winner = s.names[tied[0]]
        return (
            f"{word} gate routes the gradient {up} to {winner}, the {extreme} input{zero(losers)}"
        )
    head = f"{word} gate has a tie at {fmt(s.out)} between {_listed([s.names[i] for i in tied])}"
    if s.tie_break == "split":
        share = ", ".join(f"{s.names[i]} gets {fmt(s.contributions[i])}" for i in tied)
        return f"{head}: it splits the gradient {up}: {share}{zero(losers)}"
    first = tied[0]
    return (
        f"{head}: it sends the whole gradient {up} to {s.names[first]}, the first tied input"
        f"{zero(sorted(tied[1:] + losers))}"
    )


def _route_branch(xs: Sequence[Any], out: Any, param: Any) -> tuple[int, ...]:
    sole = _sole_winner(xs, out)  # a caption branch reads the scalar path's plain floats
    if sole >= 0:
        return (sole,)
    return tuple([i for i, x in enumerate(xs) if x == out])  # the winners, as _explain_route


def _no_nan(xs: tuple[float, ...]) -> bool:
    """Whether no plain-float input is NaN. A sum with a NaN term is NaN, so a sum that is not
    NaN answers in C; a NaN sum (or infinities of both signs) looks at each input."""
    total = sum(xs)
    return total == total or all(x == x for x in xs)


def _reduce(ufunc: np.ufunc, *xs: Any) -> Any:
    # The first of equal inputs wins, as in Python's max and PyTorch's maximum: max(-0.0, 0.0)
    # is -0.0 (np.maximum would give 0.0). A NaN input makes the output NaN.
    beats = np.greater if ufunc is np.maximum else np.less
    out = np.asarray(xs[0], dtype=np.float64)
    for x in xs[1:]:
        x = np.asarray(x, dtype=np.float64)
        out = np.where(beats(x, out) | np.isnan(x), x, out)
    return out[()]


register(
    Gate(
        "max",
        "max",
        (2, None),
        partial(_reduce, np.maximum),
        "d/dx max(x, y) = 1 if x ≥ y else 0",
        "max gate routes: the whole upstream gradient goes to the larger input, the others get 0",
        partial(_explain_route, "max"),
        local=_route_local,
        kink=_route_kink,
        scalar_forward=lambda *xs: max(xs) if _no_nan(xs) else math.nan,
        scalar_local=_route_scalar_local,
        uses=_route_uses,
        caption_branch=_route_branch,
    )
)

register(
    Gate(
        "min",
        "min",
        (2, None),
        partial(_reduce, np.minimum),
        "d/dx min(x, y) = 1 if x ≤ y else 0",
        "min gate routes: the whole upstream gradient goes to the smaller input, the others get 0",
        partial(_explain_route, "min"),
        local=_route_local,
        kink=_route_kink,
        scalar_forward=lambda *xs: min(xs) if _no_nan(xs) else math.nan,
        scalar_local=_route_scalar_local,
        uses=_route_uses,
        caption_branch=_route_branch,
    )
)


# ---------------------------------------------------------------- elementwise functions


def _explain_unary(what: str, s: Step) -> str:
    return (
        f"{what}: {s.names[0]} receives {fmt(s.local[0])} · {fmt(s.upstream)} = "
        f"{fmt(s.contributions[0])}"
    )


def _at_zero(
    kind: str,
    convention: str,
    interval: list[float],
    xs: Sequence[Any],
    out: Any,
    param: Any,
    tie_break: str,
) -> Kink | None:
    if type(xs[0]) is float and xs[0] != 0:
        return None  # the scalar fast path's plain float, not at the kink
    zeros = int(np.count_nonzero(np.asarray(xs[0]) == 0))
    return Kink(kind, convention, [interval], zeros) if zeros else None


register(
    Gate(
        "exp",
        "exp",
        (1, 1),
        np.exp,
        "d/dx e^x = e^x",
        "exp gate: the local gradient is its own output e^x",
        partial(_explain_unary, "exp gate multiplies by its own output e^x"),
        local=lambda xs, out, p, t: [out],
        # numpy's exp, as arrays get: math.exp differs from it in the last bit for about 5% of
        # x (e^-0.125, found by scripts/repeat_tests.sh)
        scalar_forward=partial(_as_float, np.exp),
        scalar_local=lambda xs, out, p, t: [out],
        uses=uses_output,
        caption_branch=no_branch,
    )
)

register(
    Gate(
        "log",
        "log",
        (1, 1),
        np.log,
        "d/dx ln x = 1/x",
        "log gate: the local gradient is 1/x",
        partial(_explain_unary, "log gate multiplies by 1/x"),
        local=lambda xs, out, p, t: [1.0 / xs[0] * np.ones_like(out)],
        scalar_forward=partial(
            _as_float, np.log
        ),  # math.log, too, can differ from numpy's last bit
        scalar_local=lambda xs, out, p, t: [1.0 / xs[0]],
        uses=uses_input,
        caption_branch=no_branch,
    )
)

register(
    Gate(
        "sqrt",
        "√",
        (1, 1),
        np.sqrt,
        "d/dx √x = 1/(2√x)",
        "sqrt gate: the local gradient is 1/(2√x)",
        partial(_explain_unary, "sqrt gate multiplies by 1/(2√x)"),
        local=lambda xs, out, p, t: [0.5 / out],
        kink=partial(
            _at_zero,
            "sqrt0",
            "√x has a vertical tangent at 0: the derivative is +Infinity (as PyTorch)",
            [math.inf, math.inf],
        ),
        scalar_forward=math.sqrt,
        scalar_local=lambda xs, out, p, t: [0.5 / out],
        uses=uses_output,
        caption_branch=no_branch,
    )
)

register(
    Gate(
        "abs",
        "|x|",
        (1, 1),
        np.abs,
        "d/dx |x| = sign(x)",
        "abs gate: the local gradient is the sign of the input",
        partial(_explain_unary, "abs gate multiplies by sign(x)"),
        local=lambda xs, out, p, t: [np.sign(xs[0]) * np.ones_like(out)],
        kink=partial(
            _at_zero,
            "abs0",
            "abs'(0) = 0 (PyTorch's convention); any value in [-1, 1] is a valid subgradient",
            [-1.0, 1.0],
        ),
        scalar_forward=abs,
        # np.sign(NaN) is NaN: the fast path must not turn a NaN input into a 0 gradient.
        scalar_local=lambda xs, out, p, t: [
            (xs[0] > 0) - (xs[0] < 0) + 0.0 if xs[0] == xs[0] else math.nan
        ],
        uses=uses_input,
        caption_branch=no_branch,
    )
)


def _relu_explain(s: Step) -> str:
    if type(s.xs[0]) is not float and np.ndim(s.xs[0]):  # a plain float is a scalar, fast
        return "relu gate routes the gradient through where the input was positive, 0 elsewhere"
    if s.xs[0] > 0:
        return (
            f"relu gate passes the gradient {fmt(s.upstream)} through: its input {fmt(s.xs[0])} > 0"
        )
    return f"relu gate blocks the gradient: its input {fmt(s.xs[0])} ≤ 0, so {s.names[0]} gets 0"


def _relu_branch(xs: Sequence[Any], out: Any, param: Any) -> bool:
    return bool(xs[0] > 0)  # passes or blocks, as _relu_explain


register(
    Gate(
        "relu",
        "relu",
        (1, 1),
        # PyTorch's relu keeps -0 and NaN: only a negative input becomes 0.
        lambda x: np.where(np.asarray(x) < 0, 0.0, x)[()],
        "d/dx max(0, x) = 1 if x > 0 else 0",
        "relu gate routes: the gradient passes where the input was positive and is blocked elsewhere",
        _relu_explain,
        # PyTorch passes the gradient unless x <= 0, so a NaN input passes it (as NaN upstream).
        local=lambda xs, out, p, t: [
            (~(np.asarray(xs[0]) <= 0)).astype(np.float64) * np.ones_like(out)
        ],
        kink=partial(
            _at_zero,
            "relu0",
            "relu'(0) = 0 (PyTorch's convention); any value in [0, 1] is a valid subgradient",
            [0.0, 1.0],
        ),
        scalar_forward=lambda x: 0.0 if x < 0 else x,
        scalar_local=lambda xs, out, p, t: [0.0 if xs[0] <= 0 else 1.0],
        uses=uses_input,
        caption_branch=_relu_branch,
    )
)


def _sigmoid(x: Any) -> Any:
    # Stable on both tails: never exponentiates a large positive number.
    x = np.asarray(x, dtype=np.float64)
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))[()]


def _sigmoid_scalar(x: float) -> float:
    # _sigmoid's formula on one float, with numpy's exp (math.exp can round differently)
    e = float(np.exp(np.float64(-abs(x))))
    return 1.0 / (1.0 + e) if x >= 0 else e / (1.0 + e)


register(
    Gate(
        "sigmoid",
        "σ",
        (1, 1),
        _sigmoid,
        "d/dx σ(x) = σ(x)·(1 - σ(x))",
        "sigmoid gate: the local gradient is σ(x)(1 - σ(x)), computed from its own output",
        lambda s: (
            f"sigmoid gate: {s.names[0]} receives σ(1-σ) · upstream = {fmt(s.out)}·(1-{fmt(s.out)}) · "
            f"{fmt(s.upstream)} = {fmt(s.contributions[0])}"
        ),
        local=lambda xs, out, p, t: [out * (1.0 - out)],
        scalar_forward=_sigmoid_scalar,
        scalar_local=lambda xs, out, p, t: [out * (1.0 - out)],
        uses=uses_output,
        caption_branch=no_branch,
    )
)

register(
    Gate(
        "tanh",
        "tanh",
        (1, 1),
        np.tanh,
        "d/dx tanh x = 1 - tanh²x",
        "tanh gate: the local gradient is 1 - tanh², computed from its own output",
        partial(_explain_unary, "tanh gate multiplies by 1 - tanh²"),
        # (1 - t)(1 + t) loses less near |t| = 1 than 1 - t², and is what PyTorch computes.
        local=lambda xs, out, p, t: [(1.0 - out) * (1.0 + out)],
        scalar_forward=partial(_as_float, np.tanh),  # math.tanh and np.tanh differ in the last bit
        scalar_local=lambda xs, out, p, t: [(1.0 - out) * (1.0 + out)],
        uses=uses_output,
        caption_branch=no_branch,
    )
)


def gate_table() -> list[dict[str, Any]]:
    return [gate.as_dict() for gate in GATES.values()]
