"""Turns expression text into tokens with line and column, rejecting what the grammar lacks."""

from __future__ import annotations

import keyword
import unicodedata
from dataclasses import dataclass

from app.core.errors import LimitError, Problem, ProblemError

_DIGITS = frozenset("0123456789")

# Token kinds.
NUM, NAME, OP, NEWLINE, END = "num", "name", "op", "newline", "end"

# Longest first, so "**" wins over "*".
_OPERATORS = ("**", "+", "-", "*", "/", "@", "(", ")", "[", "]", ",", "=", ":", ";", ".")

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


@dataclass(frozen=True, slots=True)
class Token:
    kind: str
    text: str
    line: int
    col: int  # 1-based
    end_col: int  # 1-based, exclusive


def source_line(source: str, line: int) -> str:
    lines = source.splitlines() or [""]
    return lines[line - 1] if 0 < line <= len(lines) else ""


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


def tokenize(source: str, max_literal_chars: int = 64) -> list[Token]:
    """Tokens of `source`. Newlines inside brackets are joined, as in Python."""
    tokens: list[Token] = []
    i, n = 0, len(source)
    line, line_start = 1, 0
    depth = 0
    while i < n:
        ch = source[i]
        col = i - line_start + 1
        if ch == "\n":
            if depth == 0:
                tokens.append(Token(NEWLINE, "\n", line, col, col + 1))
            i += 1
            line, line_start = line + 1, i
            continue
        if ch in " \t\r\f":
            i += 1
            continue
        if ch == "#":
            while i < n and source[i] != "\n":
                i += 1
            continue
        if ch in _DIGITS or (ch == "." and i + 1 < n and source[i + 1] in _DIGITS):
            j = _scan_number(source, i)
            text = source[i:j]
            if j < n and (source[j].isalpha() or source[j] == "_"):
                raise _fail(source, line, col, f"malformed number '{source[i : j + 1]}'")
            if len(text) > max_literal_chars:
                raise LimitError(
                    "a number literal's length",
                    len(text),
                    max_literal_chars,
                    "max_literal_chars",
                    loc=("body", "expression"),
                )
            tokens.append(Token(NUM, text, line, col, col + len(text)))
            i = j
            continue
        if ch.isascii() and (ch.isalpha() or ch == "_"):
            j = i
            while j < n and source[j].isascii() and (source[j].isalnum() or source[j] == "_"):
                j += 1
            if j < n and not source[j].isascii() and source[j].isalnum():
                raise _non_ascii(source, line, j - line_start + 1, source[j])
            word = source[i:j]
            if word in _KEYWORD_HINTS:
                raise _fail(source, line, col, f"'{word}': {_KEYWORD_HINTS[word]}")
            if keyword.iskeyword(word):
                raise _fail(source, line, col, f"the Python keyword '{word}' is not allowed")
            if word.startswith("__"):
                raise _fail(source, line, col, f"dunder names like '{word}' are not allowed")
            tokens.append(Token(NAME, word, line, col, col + len(word)))
            i = j
            continue
        two = source[i : i + 2]
        if two in _HINTS:
            raise _fail(source, line, col, f"'{two}': {_HINTS[two]}")
        op = next((o for o in _OPERATORS if source.startswith(o, i)), None)
        if op is not None:
            if op in "([":
                depth += 1
            elif op in ")]":
                depth = max(0, depth - 1)
            tokens.append(Token(OP, op, line, col, col + len(op)))
            i += len(op)
            continue
        if ch in _HINTS:
            raise _fail(source, line, col, f"'{ch}': {_HINTS[ch]}")
        raise _non_ascii(source, line, col, ch)
    tokens.append(Token(NEWLINE, "\n", line, i - line_start + 1, i - line_start + 2))
    tokens.append(Token(END, "", line, i - line_start + 1, i - line_start + 1))
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


def _scan_number(source: str, i: int) -> int:
    n = len(source)
    j = i
    while j < n and source[j] in _DIGITS:
        j += 1
    if j < n and source[j] == ".":
        j += 1
        while j < n and source[j] in _DIGITS:
            j += 1
    if j < n and source[j] in "eE":
        k = j + 1
        if k < n and source[k] in "+-":
            k += 1
        if k < n and source[k] in _DIGITS:
            while k < n and source[k] in _DIGITS:
                k += 1
            j = k
    return j
