"""Turns expression text into tokens with line and column, rejecting what the grammar lacks."""

from __future__ import annotations

import keyword
import re
import unicodedata
from typing import NamedTuple

from app.core.errors import LimitError, Problem, ProblemError
from app.engine.gates import GATES

# Token kinds.
NUM, NAME, OP, NEWLINE, END = "num", "name", "op", "newline", "end"

# Characters and sequences a user may plausibly type, with what to do instead.
_HINTS = {
    "^": "'^' is not a power operator here: use ** (x**2)",
    "%": "the modulo operator % is not a gate",
    "//": "floor division // is not a gate: use /",
    ":=": "the walrus operator := is not allowed: write a stage on its own line, name = expression",
    "==": "comparisons are not gates",
    "!=": "comparisons are not gates",
    "<": "comparisons are not gates: use max(...) or min(...)",
    ">": "comparisons are not gates: use max(...) or min(...)",
    "&": "bitwise operators are not gates",
    "|": "bitwise operators are not gates",
    "~": "bitwise operators are not gates",
    "'": "strings are not allowed in a circuit",
    '"': "strings are not allowed in a circuit",
    "{": "dicts and sets are not allowed in a circuit",
    "}": "dicts and sets are not allowed in a circuit",
    "\\": "a backslash is not allowed: wrap a long expression in parentheses instead",
    "!": "'!' is not an operator here",
    "?": "'?' is not an operator here",
    "$": "'$' is not allowed in a circuit",
    "`": "backticks are not allowed in a circuit",
}


def _hinted(text: str, hint: str) -> str:
    """The message for a token that has a hint: the token quoted once, then the hint."""
    return hint if hint.startswith(f"'{text}'") else f"'{text}': {hint}"


_KEYWORD_HINTS = {
    "lambda": "lambdas are not allowed: write the function as a gate expression",
    "for": "comprehensions and loops are not allowed",
    "while": "loops are not allowed",
    "if": "conditionals are not allowed: use max(...), min(...) or relu(...)",
    "else": "conditionals are not allowed: use max(...), min(...) or relu(...)",
    "import": "imports are not allowed",
    "def": "function definitions are not allowed: use a staged program, name = expression",
    "True": "booleans are not numbers here: use 1 or 0",
    "False": "booleans are not numbers here: use 1 or 0",
    "None": "None is not a number",
}


class Token(NamedTuple):
    """One token; a tuple because a 100,000-gate program makes hundreds of thousands."""

    kind: str
    text: str
    line: int
    col: int  # 1-based
    end_col: int  # 1-based, exclusive


# Control characters shown as a space, so the caret under the excerpt stays in its column.
_INVISIBLE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def source_line(source: str, line: int) -> str:
    """Line `line` as the lexer counts lines: only "\n" ends one (a form feed or a lone "\r"
    is whitespace to the lexer, so str.splitlines() would show the wrong line)."""
    lines = source.split("\n")
    text = lines[line - 1] if 0 < line <= len(lines) else ""
    return _INVISIBLE.sub(" ", text)


def parse_problem(source: str, line: int, col: int, msg: str, kind: str = "parse_error") -> Problem:
    """A parse error at (line, col) with the offending line as excerpt and a caret under it."""
    text = source_line(source, line)
    start = max(0, col - 40)
    excerpt = text[start : col + 40]
    caret = " " * (col - 1 - start) + "^"
    return Problem(
        f"line {line}, col {col}: {msg}",
        type=kind,
        loc=("body", "expression"),
        line=line,
        col=col,
        excerpt=excerpt,
        extra={"caret": caret},
    )


def _fail(source: str, line: int, col: int, msg: str) -> ProblemError:
    return ProblemError(parse_problem(source, line, col, msg))


# Punctuation of the language (and unary plus, which is no gate). Operator tokens come from the
# gates (Gate.operator); :=, //, == and != are lexed whole only to be refused with their hint.
_PUNCTUATION = ("(", ")", "[", "]", ",", "=", ":", ";", ".", "+", ":=", "//", "==", "!=")
_SCANNER_TEMPLATE = r"""
    ([ \t\r\f]*)  # spaces before a token are part of its match, not a match of their own
    (?:
    (\n)
    | (\#[^\n]*)
    | ((?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)
    | ([A-Za-z_][A-Za-z0-9_]*)
    | (OPS)
    | (.)
    | ($)
    )
    """
# (len(GATES), scanner, hints): built once, and again only when a gate is added.
_scanner: tuple[int, re.Pattern[str], dict[str, str]] = (-1, re.compile(""), {})


def _scanner_and_hints() -> tuple[re.Pattern[str], dict[str, str]]:
    global _scanner
    if _scanner[0] != len(GATES):
        operators = {gate.operator for gate in GATES.values() if gate.operator is not None}
        tokens = sorted(operators | set(_PUNCTUATION), key=lambda t: (-len(t), t))  # ** before *
        pattern = re.compile(
            _SCANNER_TEMPLATE.replace("OPS", "|".join(re.escape(t) for t in tokens)),
            re.VERBOSE | re.DOTALL,
        )
        hints = {text: hint for text, hint in _HINTS.items() if text not in operators}
        _scanner = (len(GATES), pattern, hints)
    return _scanner[1], _scanner[2]


# Names refused outright, each with its message: the hinted keywords, then every other keyword.
_REFUSED_NAMES = {
    **{word: f"the Python keyword '{word}' is not allowed" for word in keyword.kwlist},
    **{word: _hinted(word, hint) for word, hint in _KEYWORD_HINTS.items()},
}
_new_token = tuple.__new__  # Token(...) without NamedTuple's Python-level __new__: many tokens


def tokenize(source: str, max_literal_chars: int = 64) -> list[Token]:
    """Tokens of `source`. Newlines inside brackets are joined, as in Python."""
    tokens: list[Token] = []
    append = tokens.append
    line, line_start = 1, 0
    depth = 0
    n = len(source)
    scanner, hints = _scanner_and_hints()
    refused = _REFUSED_NAMES
    # findall gives each match's groups as strings, in order (spaces, newline, comment, number,
    # name, operator, other, end); the matches cover the text end to end, so each token's
    # offset is the sum of the lengths before it. Cheaper than a match object per token.
    at = 0
    for space, newline, comment, num, name, op, other, _ in scanner.findall(source):
        start = at + len(space)
        if name:
            at = start + len(name)
            col = start - line_start + 1
            if at < n and not source[at].isascii() and source[at].isalnum():
                raise _non_ascii(source, line, at - line_start + 1, source[at])
            if name in refused:
                raise _fail(source, line, col, refused[name])
            if name[:2] == "__":
                raise _fail(source, line, col, f"dunder names like '{name}' are not allowed")
            append(_new_token(Token, (NAME, name, line, col, col + len(name))))
        elif op:
            at = start + len(op)
            col = start - line_start + 1
            if op in hints:
                raise _fail(source, line, col, _hinted(op, hints[op]))
            if op in "([":
                depth += 1
            elif op in ")]":
                depth = max(0, depth - 1)
            append(_new_token(Token, (OP, op, line, col, col + len(op))))
        elif num:
            at = start + len(num)
            col = start - line_start + 1
            if at < n and (source[at].isalpha() or source[at] == "_"):
                raise _fail(source, line, col, f"malformed number '{source[start : at + 1]}'")
            if len(num) > max_literal_chars:
                raise LimitError(
                    "a number literal's length",
                    len(num),
                    max_literal_chars,
                    "max_literal_chars",
                    loc=("body", "expression"),
                )
            append(_new_token(Token, (NUM, num, line, col, col + len(num))))
        elif newline:
            at = start + 1
            if depth == 0:
                col = start - line_start + 1
                append(_new_token(Token, (NEWLINE, "\n", line, col, col + 1)))
            line, line_start = line + 1, start + 1
        elif comment:
            at = start + len(comment)
        elif other:
            col = start - line_start + 1
            if other in _HINTS:
                raise _fail(source, line, col, _hinted(other, _HINTS[other]))
            raise _non_ascii(source, line, col, other)
        else:  # the end
            at = start
    col = n - line_start + 1
    append(Token(NEWLINE, "\n", line, col, col + 1))
    append(Token(END, "", line, col, col))
    return tokens


def _non_ascii(source: str, line: int, col: int, ch: str) -> ProblemError:
    name = unicodedata.name(ch, "unnamed character")
    hint = ""
    if ch in "−–—":
        hint = ": use the ASCII minus sign -"
    elif ch in "×·∙⋅":
        hint = ": use * for multiplication"
    elif ch in "÷∕":
        hint = ": use / for division"
    elif not ch.isascii():
        hint = ": names and operators must be ASCII"
    return _fail(source, line, col, f"unexpected character {ch!r} (U+{ord(ch):04X} {name}){hint}")
