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
    [ \t\r\f]*  # spaces before a token are part of its match, not a match of their own
    (?:
    (?P<newline>\n)
    | (?P<comment>\#[^\n]*)
    | (?P<num>(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)
    | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
    | (?P<op>OPS)
    | (?P<other>.)
    | (?P<end>$)
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


# The scanner's groups by number (m.lastindex), in the order _SCANNER_TEMPLATE lists them.
_NEWLINE_G, _COMMENT_G, _NUM_G, _NAME_G, _OP_G, _OTHER_G, _END_G = range(1, 8)
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
    for match in scanner.finditer(source):
        group = match.lastindex or _END_G
        start, end = match.span(group)
        if group == _NAME_G:
            text = source[start:end]
            col = start - line_start + 1
            if end < n and not source[end].isascii() and source[end].isalnum():
                raise _non_ascii(source, line, end - line_start + 1, source[end])
            if text in refused:
                raise _fail(source, line, col, refused[text])
            if text[:2] == "__":
                raise _fail(source, line, col, f"dunder names like '{text}' are not allowed")
            append(_new_token(Token, (NAME, text, line, col, col + end - start)))
        elif group == _OP_G:
            text = source[start:end]
            col = start - line_start + 1
            if text in hints:
                raise _fail(source, line, col, _hinted(text, hints[text]))
            if text in "([":
                depth += 1
            elif text in ")]":
                depth = max(0, depth - 1)
            append(_new_token(Token, (OP, text, line, col, col + end - start)))
        elif group == _NUM_G:
            text = source[start:end]
            col = start - line_start + 1
            if end < n and (source[end].isalpha() or source[end] == "_"):
                raise _fail(source, line, col, f"malformed number '{source[start : end + 1]}'")
            if len(text) > max_literal_chars:
                raise LimitError(
                    "a number literal's length",
                    len(text),
                    max_literal_chars,
                    "max_literal_chars",
                    loc=("body", "expression"),
                )
            append(_new_token(Token, (NUM, text, line, col, col + end - start)))
        elif group == _NEWLINE_G:
            if depth == 0:
                col = start - line_start + 1
                append(_new_token(Token, (NEWLINE, "\n", line, col, col + 1)))
            line, line_start = line + 1, start + 1
        elif group == _OTHER_G:
            text = source[start:end]
            col = start - line_start + 1
            if text in _HINTS:
                raise _fail(source, line, col, _hinted(text, _HINTS[text]))
            raise _non_ascii(source, line, col, text)
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
