"""The index sub-grammar, x[...]: integer constants, constant stages, slices and input names."""

from __future__ import annotations

from typing import Any

from app.engine.builder import Builder, Operand, bind_name
from app.engine.lexer import END_COL, KIND, LINE, NAME, NUM, TEXT, RawToken


def closing_bracket(builder: Builder, tokens: list[RawToken], open_at: int) -> int:
    """Position of the ']' that closes the '[' at `open_at`; indices hold no brackets."""
    for j in range(open_at + 1, len(tokens)):
        if tokens[j][TEXT] == "]":
            return j
        if tokens[j][TEXT] in ("[", "("):
            raise builder.fail(
                tokens[j], "an index holds integers, slices or input names, not expressions"
            )
    raise builder.fail(tokens[open_at], "'[' is never closed")


def parse_index(
    builder: Builder,
    operand: Operand,
    inside: list[RawToken],
    close: RawToken,
    assigned: dict[str, RawToken],
) -> Operand:
    """x[...]: integer constants, slices (a:b:c) and integer-valued input names, by axis."""
    entries: list[tuple[Any, ...]] = []
    names: list[Operand] = []
    parts: list[list[RawToken]] = [[]]
    for token in inside:
        if token[TEXT] == ",":
            parts.append([])
        else:
            parts[-1].append(token)
    for part in parts:
        if not part:
            raise builder.fail(close, "an empty index entry: write an integer, a slice or a name")
        if any(t[TEXT] == ":" for t in part):
            bounds: list[list[RawToken]] = [[]]
            for token in part:
                if token[TEXT] == ":":
                    bounds.append([])
                else:
                    bounds[-1].append(token)
            if len(bounds) > 3:
                raise builder.fail(part[0], "a slice has at most three parts, start:stop:step")
            values = [_index_int(builder, b) if b else None for b in bounds]
            values += [None] * (3 - len(values))
            if values[2] == 0:
                raise builder.fail(part[0], "a slice's step cannot be 0")
            entries.append(("slice", *values))
        elif len(part) == 1 and part[0][KIND] == NAME:
            token = part[0]
            name = token[TEXT]
            bound = builder.bindings.get(name)
            if bound is not None and builder.nodes[bound].kind == "const":
                entries.append(("int", _integer(builder, token, builder.nodes[bound].const)))
                builder.index_constants.add(name)
                continue
            if bound is not None and builder.nodes[bound].kind != "input":
                raise builder.fail(
                    token,
                    f"'{name}' is a computed stage; an index must be an integer constant "
                    "or an input name (indices are not differentiable)",
                )
            names.append(bind_name(builder, token, assigned))
            entries.append(("arg", len(names)))
        else:
            entries.append(("int", _index_int(builder, part)))
    return builder.gate(
        "index",
        (operand[0], *[name[0] for name in names]),
        operand[1],
        (close[LINE], close[END_COL]),
        param=tuple(entries),
    )


def _index_int(builder: Builder, tokens: list[RawToken]) -> int:
    """An integer literal, or a constant stage's value (a slice bound such as v[0:k])."""
    sign = 1
    if len(tokens) == 2 and tokens[0][TEXT] in ("-", "+"):
        sign = -1 if tokens[0][TEXT] == "-" else 1
        tokens = tokens[1:]
    if len(tokens) == 1 and tokens[0][KIND] == NAME:
        name = tokens[0][TEXT]
        bound = builder.bindings.get(name)
        if bound is not None and builder.nodes[bound].kind == "const":
            builder.index_constants.add(name)
            return sign * _integer(builder, tokens[0], builder.nodes[bound].const)
        raise builder.fail(
            tokens[0],
            f"a slice bound must be an integer or a constant stage (k = 2), and "
            f"'{name}' is not one",
        )
    if len(tokens) != 1 or tokens[0][KIND] != NUM:
        raise builder.fail(
            tokens[0],
            "an index holds integers, slices (1:3, :) or input names, not expressions "
            "(a constant stage, k = 2, also works)",
        )
    return sign * _integer(builder, tokens[0], float(tokens[0][TEXT]))


def _integer(builder: Builder, token: RawToken, value: float) -> int:
    if not float(value).is_integer():
        raise builder.fail(token, f"an index must be an integer, not {token[TEXT]}")
    return int(value)
