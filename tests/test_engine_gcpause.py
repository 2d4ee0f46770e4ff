"""gc_paused: the collector is off inside, back on after the last nested pause, and left as
it was when it was off before."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator

import pytest

from app.engine.gcpause import gc_paused


@pytest.fixture(autouse=True)
def collector_back_on() -> Iterator[None]:
    yield
    gc.enable()


def test_nested_pauses_turn_the_collector_back_on_when_the_last_one_leaves() -> None:
    gc.enable()
    with gc_paused():
        assert not gc.isenabled()
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the outer pause still holds
    assert gc.isenabled()


def test_an_error_inside_still_turns_it_back_on() -> None:
    gc.enable()
    with pytest.raises(ZeroDivisionError), gc_paused():
        assert not gc.isenabled()
        _ = 1 / 0
    assert gc.isenabled()


def test_a_collector_that_was_off_stays_off() -> None:
    gc.disable()
    with gc_paused():
        assert not gc.isenabled()
    assert not gc.isenabled()


def test_threads_pausing_at_once_leave_it_on() -> None:
    gc.enable()
    inside = threading.Barrier(2)
    seen: list[bool] = []

    def pause() -> None:
        with gc_paused():
            inside.wait(timeout=5)  # both threads are in their pause here
            seen.append(gc.isenabled())
            inside.wait(timeout=5)

    threads = [threading.Thread(target=pause) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert seen == [False, False]
    assert gc.isenabled()
