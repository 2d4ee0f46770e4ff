"""Turns expression text into tokens with line and column, rejecting what the grammar lacks."""

from __future__ import annotations

import keyword
import re
import unicodedata
from typing import Final, NamedTuple

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
    """One token, as tokenize() returns it."""

    kind: str
    text: str
    line: int
    col: int  # 1-based
    end_col: int  # 1-based, exclusive


# Inside the parser a token is a plain tuple of Token's fields in Token's order, (kind, text,
# line, col, end_col): a 100,000-gate program makes hundreds of thousands of tokens, and a
# Token costs about three times as much to make. Its fields are read with these indices (Final,
# so that mypy knows each field's type), or by unpacking where several are read together.
RawToken = tuple[str, str, int, int, int]
KIND: Final = 0
TEXT: Final = 1
LINE: Final = 2
COL: Final = 3
END_COL: Final = 4


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
# One token, in one group: split() on it returns the spaces before each token, then the token,
# in turn (and a last, empty string). That is cheaper than findall's tuple per match (worse
# with a group per kind, an 8-tuple of mostly empty strings) or a match object per token;
# tokenize tells the kinds apart by the token's text (see _scanner_and_kinds).
_SCANNER_TEMPLATE = r"""
    (
    \n
    | \#[^\n]*
    | (?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?
    | [A-Za-z_][A-Za-z0-9_]*
    | OPS
    | [^ \t\r\f]  # any other character but a space (the spaces are what split leaves)
    | $
    )
    """
# The alternatives before OPS claim a token starting like this, so such an operator is never
# lexed as one.
_CLAIMED = re.compile(r"\n|\#|[0-9]|\.[0-9]|[A-Za-z_]")
_SEMICOLON, _COMMENT, _REFUSED, _OTHER = "semicolon", "comment", "refused", "other"
# The kind of a token not in the table of whole tokens, by its first character.
_FIRST = {
    **dict.fromkeys("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_", NAME),
    **dict.fromkeys("0123456789.", NUM),  # "." alone is punctuation, in the whole tokens' table
    "#": _COMMENT,
}
# (len(GATES), scanner, kinds of whole tokens): built once, and again only when a gate is added.
_scanner: tuple[int, re.Pattern[str], dict[str, str]] = (-1, re.compile(""), {})


def _scanner_and_kinds() -> tuple[re.Pattern[str], dict[str, str]]:
    """The scanner, and the kind of each token text tokenize can tell by the whole text: the
    operators and punctuation the scanner lexes as such (OP, but not the refused :=, //, ==
    and != unless a gate makes one its operator), ';' (an OP token that also ends a statement),
    newline, the end and the refused names. Any other token is told by its first character."""
    global _scanner
    if _scanner[0] != len(GATES):
        operators = {gate.operator for gate in GATES.values() if gate.operator is not None}
        tokens = sorted(operators | set(_PUNCTUATION), key=lambda t: (-len(t), t))  # ** before *
        pattern = re.compile(
            _SCANNER_TEMPLATE.replace("OPS", "|".join(re.escape(t) for t in tokens)),
            re.VERBOSE | re.DOTALL,
        )
        kinds = {
            text: OP
            for text in tokens
            if not _CLAIMED.match(text) and (text in operators or text not in _HINTS)
        }
        kinds.update(dict.fromkeys(_REFUSED_NAMES, _REFUSED))
        kinds.update({";": _SEMICOLON, "\n": NEWLINE, "": END})
        _scanner = (len(GATES), pattern, kinds)
    return _scanner[1], _scanner[2]


# Names refused outright, each with its message: the hinted keywords, then every other keyword.
_REFUSED_NAMES = {
    **{word: f"the Python keyword '{word}' is not allowed" for word in keyword.kwlist},
    **{word: _hinted(word, hint) for word, hint in _KEYWORD_HINTS.items()},
}


def tokenize(source: str, max_literal_chars: int = 64) -> list[Token]:
    """Tokens of `source`. Newlines inside brackets are joined, as in Python."""
    return [Token(*token) for token in scan(source, max_literal_chars)[0]]


def scan(source: str, max_literal_chars: int = 64) -> tuple[list[RawToken], list[int]]:
    """tokenize's tokens as plain tuples (see RawToken), and the positions of the tokens that
    end a statement (each NEWLINE, each ';' and the END), so that the parser splits statements
    without a look at each token."""
    tokens: list[RawToken] = []
    ends: list[int] = []
    append = tokens.append
    line = 1
    base = -1  # the offset of the line's first character, less one: a column is offset - base
    depth = 0
    n = len(source)
    scanner, kinds = _scanner_and_kinds()
    first = _FIRST
    # Two tests of each name, needed only if the text holds a '__' or a non-ASCII character.
    dunders = "__" in source
    ascii_only = source.isascii()  # O(1): a str knows whether it is ASCII
    # The spaces and the tokens cover the text end to end, so each token's offset is the sum of
    # the lengths before it.
    at = 0
    parts = iter(scanner.split(source))
    for space, text in zip(parts, parts, strict=False):  # the last "" is left over
        start = at + len(space)
        at = start + len(text)
        kind = kinds.get(text) or first.get(text[0], _OTHER)  # "" (the end) is in kinds
        if kind == NAME:
            if not ascii_only:
                _check_after_name(source, line, base, at)
            if dunders and text[:2] == "__":
                msg = f"dunder names like '{text}' are not allowed"
                raise _fail(source, line, start - base, msg)
            append((NAME, text, line, start - base, at - base))
        elif kind == OP:
            if text in "([":
                depth += 1
            elif text in ")]" and depth:
                depth -= 1
            append((OP, text, line, start - base, at - base))
        elif kind == NEWLINE:
            if depth == 0:
                ends.append(len(tokens))
                append((NEWLINE, "\n", line, start - base, at - base))
            line, base = line + 1, start
        elif kind == _SEMICOLON:
            ends.append(len(tokens))
            append((OP, text, line, start - base, at - base))
        elif kind == NUM:
            if at < n and (source[at].isalpha() or source[at] == "_"):
                msg = f"malformed number '{source[start : at + 1]}'"
                raise _fail(source, line, start - base, msg)
            if len(text) > max_literal_chars:
                raise LimitError(
                    "a number literal's length",
                    len(text),
                    max_literal_chars,
                    "max_literal_chars",
                    loc=("body", "expression"),
                )
            append((NUM, text, line, start - base, at - base))
        elif kind == _REFUSED:
            _check_after_name(source, line, base, at)
            raise _fail(source, line, start - base, _REFUSED_NAMES[text])
        elif kind == _OTHER:
            col = start - base
            if text in _HINTS:
                raise _fail(source, line, col, _hinted(text, _HINTS[text]))
            raise _non_ascii(source, line, col, text)
        # else a comment, or the end
    col = n - base
    ends += (len(tokens), len(tokens) + 1)
    append((NEWLINE, "\n", line, col, col + 1))
    append((END, "", line, col, col))
    return tokens, ends


def _check_after_name(source: str, line: int, base: int, at: int) -> None:
    """Raises for a non-ASCII letter or digit right after a name (at offset `at`): the name
    cannot end there, so that is the first error."""
    if at < len(source) and not source[at].isascii() and source[at].isalnum():
        raise _non_ascii(source, line, at - base, source[at])


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
