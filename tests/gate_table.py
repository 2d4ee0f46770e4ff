"""Removing a gate a test registered: the gate table and what is derived from it."""

from __future__ import annotations

import re

from app.engine import lexer, parser
from app.engine.gates import GATES


def unregister(name: str) -> None:
    """Removes a test's gate from GATES and drops the lexer's and the parser's tables built
    from it. They are rebuilt when the number of gates changes (in the app, gates are only ever
    added), so a gate removed and another registered would find the first one's tables: '%'
    still a gate's operator, or hinted as not one."""
    del GATES[name]
    lexer._scanner = (-1, re.compile(""), {})
    parser._tables = (0, {}, {})
