"""Pauses the cyclic garbage collector while a large, acyclic report is built.

Building a 100,000-gate report allocates millions of small dicts and lists; each generation-2
collection then walks the whole heap, which made the report superlinear in the gate count.
Nothing the engine builds is cyclic, so reference counting frees it all. The pause is
reference-counted so that concurrent requests in threads cannot leave the collector off.
"""

from __future__ import annotations

import gc
import threading
from types import TracebackType

_lock = threading.Lock()
_depth = 0
_was_enabled = True


class _Paused:
    """The context manager gc_paused() gives (a class: a request enters it a few times, and a
    generator-based one costs several times as much to enter and leave)."""

    __slots__ = ()

    def __enter__(self) -> None:
        global _depth, _was_enabled
        with _lock:
            if _depth == 0:
                _was_enabled = gc.isenabled()
                gc.disable()
            _depth += 1

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        global _depth
        with _lock:
            _depth -= 1
            if _depth == 0 and _was_enabled:
                gc.enable()


_PAUSED = _Paused()


def gc_paused() -> _Paused:
    """`with gc_paused():` runs its block with the collector off (nested and threaded uses
    count: the collector is back on when the last one leaves, if it was on before)."""
    return _PAUSED
