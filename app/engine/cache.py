"""A bounded LRU of parsed circuits, so a slider drag pays for the passes and not the parser.

Keyed on the expression text and the parse limits (a circuit parsed under looser limits must not
answer a request under tighter ones). A cached circuit is shared by every request that hits it,
so nothing downstream may mutate it: the passes only read it, and the result copies its warnings.
Parse errors are not cached; they are cheap to find again and carry no state.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from app.core.config import get_settings
from app.engine.builder import ParseLimits
from app.engine.circuit import Circuit
from app.engine.parser import parse
from app.engine.report import wire_names


@dataclass(frozen=True, slots=True)
class Parsed:
    """A parsed circuit with each node's source excerpt and caption name (both need the text)."""

    circuit: Circuit
    texts: list[str]
    names: list[str]
    memo: dict[str, Any] = field(default_factory=dict)  # what depends on the circuit alone


class ParseCache:
    """At most `size` circuits and `max_nodes` nodes in all (memory grows with nodes: about
    560 bytes per node with its key text, measured with tracemalloc on a 1,000-gate program)."""

    def __init__(self, size: int, max_nodes: int = 100_000) -> None:
        self.size = size
        self.max_nodes = max_nodes
        self.nodes = 0
        self._entries: OrderedDict[tuple[str, ParseLimits], Parsed] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, expression: str, limits: ParseLimits) -> Parsed:
        return self.lookup(expression, limits)[0]

    def lookup(self, expression: str, limits: ParseLimits) -> tuple[Parsed, bool]:
        """The parsed circuit, and whether it was parsed before (a hit)."""
        key = (expression, limits)
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
                self.hits += 1
                return found, True
            self.misses += 1
        circuit = parse(expression, limits)
        texts, names = wire_names(circuit, expression)
        parsed = Parsed(circuit, texts, names)
        count = len(parsed.circuit.nodes)
        if self.size > 0 and count <= self.max_nodes:
            with self._lock:
                if key not in self._entries:
                    self._entries[key] = parsed
                    self.nodes += count
                self._entries.move_to_end(key)
                while len(self._entries) > self.size or self.nodes > self.max_nodes:
                    _, evicted = self._entries.popitem(last=False)
                    self.nodes -= len(evicted.circuit.nodes)
        return parsed, False

    def clear(self) -> None:
        """Forgets every circuit (tests measuring a first parse's memory start from here)."""
        with self._lock:
            self._entries.clear()
            self.nodes = 0


@lru_cache(maxsize=1)
def shared_cache() -> ParseCache:
    """This process's cache, sized by BPC_PARSE_CACHE_ENTRIES and BPC_PARSE_CACHE_NODES (read
    once, as Settings are)."""
    settings = get_settings()
    return ParseCache(settings.parse_cache_entries, settings.parse_cache_nodes)
