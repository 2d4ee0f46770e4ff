"""Pauses the cyclic garbage collector while a large, acyclic report is built.

Building a 100,000-gate report allocates millions of small dicts and lists; each generation-2
collection then walks the whole heap, which made the report superlinear in the gate count.
Nothing the engine builds is cyclic, so reference counting frees it all. The pause is
reference-counted so that concurrent requests in threads cannot leave the collector off.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_depth = 0
_was_enabled = True


@contextmanager
def gc_paused() -> Iterator[None]:
    global _depth, _was_enabled
    with _lock:
        if _depth == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _was_enabled:
                gc.enable()
