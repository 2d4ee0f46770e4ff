"""A class's events as Server-Sent Events: one poller per followed class in each worker process, fanned out to that worker's readers.

Every worker and replica reads the class's stream from the store, so a push made through any
of them reaches every reader. One poller per class per worker (not one per reader) keeps the
store's load at a few reads a second per class whatever the room's size. An event's `id:` is its
offset in the stream: a reader that reconnects with Last-Event-ID gets exactly the events after
it, from whichever worker it reaches. A student sees views, reveals and the end; the teacher
also sees the answers, folded into a tally of the question asked now (app/classroom/rules.py),
and how many have joined: a `joined` event with no `id:`, read from the seats' stream while a
teacher follows. It has no offset of its own, so joins shift no event's id and a resuming reader's
Last-Event-ID still names the last stream event it saw.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import anyio
import orjson

from app.classroom.rules import Question, tally
from app.classroom.service import class_key, members_key
from app.store import Store

log = logging.getLogger("backprop_circuits")

_GONE_CHECK_EVERY = 5  # quiet polls between checks that the class still exists


def sse(event: str, data: Any, event_id: int | None = None) -> str:
    """One event in the text/event-stream format (data is one line of JSON)."""
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {event}\ndata: {orjson.dumps(data).decode()}\n\n"


@dataclass
class Feed:
    """The events of one class this worker has read so far, from offset 0."""

    class_id: str
    items: list[Any] = field(default_factory=list)
    ended: bool = False
    readers: int = 0
    teachers: int = 0  # readers that want the seats' count: while any do, the poller reads it
    joined: int | None = None  # seats taken, as last read (None: not read yet)
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None

    def _notify(self) -> None:
        self.changed.set()
        self.changed = asyncio.Event()

    async def wait_past(self, count: int, timeout_s: float, joined: int | None = None) -> bool:
        """Until there are more than `count` items, the class ended, or (given the reader's
        `joined`) the seats' count differs from it; False on timeout."""
        changed = self.changed
        if len(self.items) > count or self.ended:
            return True
        if joined is not None and self.joined is not None and self.joined != joined:
            return True
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(changed.wait(), timeout_s)
            return True
        return False

    async def poll(self, store: Store, poll_s: float) -> None:
        quiet = 0
        key = class_key(self.class_id)
        while not self.ended:
            new: list[Any] = []
            seated = False
            try:
                new = await anyio.to_thread.run_sync(store.read, key, len(self.items))
                if new:
                    quiet = 0
                    self.items.extend(new)
                    self.ended = any(item.get("kind") == "end" for item in new)
                else:
                    quiet += 1
                    # the first quiet poll, then every 5th: has the class been deleted (its
                    # end event may be gone with it)?
                    checks = quiet % _GONE_CHECK_EVERY == 1
                    if checks and await anyio.to_thread.run_sync(store.get, key) is None:
                        self.ended = True
                if self.teachers:
                    seated = await self._read_seats(store)
            except Exception:  # the store is down: keep the readers, try again
                log.exception("reading class %s's events", self.class_id)
                await asyncio.sleep(poll_s * 5)
            self.ready.set()
            if new or self.ended or seated:
                self._notify()
            await asyncio.sleep(poll_s)

    async def _read_seats(self, store: Store) -> bool:
        """Reads the seats taken since the last read; True if the count changed (or was first
        read). The seats' stream only grows, so reading on from the count is enough."""
        known = self.joined or 0
        seats = await anyio.to_thread.run_sync(store.read, members_key(self.class_id), known)
        if seats or self.joined is None:
            self.joined = known + len(seats)
            return True
        return False


class ClassFeeds:
    """This worker's feeds and its count of open event streams (BPC_CLASS_STREAMS_PER_WORKER)."""

    def __init__(
        self, store: Store, poll_s: float, heartbeat_s: float, max_streams: int, max_events: int
    ) -> None:
        self.store = store
        self.poll_s = poll_s
        self.heartbeat_s = heartbeat_s
        self.max_streams = max_streams
        self.max_events = max_events
        self.streams = 0
        self._feeds: dict[str, Feed] = {}

    def reserve(self) -> bool:
        """Takes one of the worker's event streams, if one is free (release() gives it back).
        Taken when the request is admitted, not when its stream starts, so that many
        arriving at once cannot pass the bound together."""
        if self.streams >= self.max_streams:
            return False
        self.streams += 1
        return True

    def release(self) -> None:
        self.streams -= 1

    @contextlib.asynccontextmanager
    async def follow(self, class_id: str, seats: bool = False) -> AsyncIterator[Feed]:
        """The class's feed while the caller reads it; `seats`: the reader wants the count of
        seats taken too (the teacher)."""
        feed = self._feeds.get(class_id)
        if feed is None or feed.task is None or feed.task.done():
            feed = Feed(class_id)
            feed.task = asyncio.create_task(feed.poll(self.store, self.poll_s))
            self._feeds[class_id] = feed
        feed.readers += 1
        feed.teachers += int(seats)
        try:
            yield feed
        finally:
            feed.readers -= 1
            feed.teachers -= int(seats)
            if feed.readers == 0 and self._feeds.get(class_id) is feed:
                del self._feeds[class_id]  # nobody here follows it: stop reading its stream
                if feed.task is not None:
                    feed.task.cancel()

    def close(self) -> None:
        for feed in self._feeds.values():
            if feed.task is not None:
                feed.task.cancel()
        self._feeds.clear()

    async def events(self, feed: Feed, reader: Reader, after: int | None) -> AsyncIterator[str]:
        """The reader's events from just after offset `after` (None: where it starts)."""
        await feed.ready.wait()
        yield "retry: 1000\n\n"  # a browser's EventSource reconnects after 1 s
        position = reader.start(feed.items) if after is None else after + 1
        await reader.skip(feed.items[:position])
        while True:
            new = feed.items[position:]
            if new:
                for text in await reader.take(position, new, self.max_events):
                    yield text
                position += len(new)
            seats = reader.seats(feed.joined)
            if seats is not None:
                yield seats
            if feed.ended and position >= len(feed.items):
                if not any(item.get("kind") == "end" for item in new):
                    yield sse("end", {})  # it was deleted before this worker read its end
                return
            if not await feed.wait_past(position, self.heartbeat_s, reader.joined_shown):
                yield ": still here\n\n"  # keeps proxies (nginx: 30 s) from closing it


class Reader:
    """What one reader sees of the stream: a student's view of it."""

    joined_shown: int | None = None  # the seats' count last sent (a student is sent none)

    def seats(self, joined: int | None) -> str | None:
        """The `joined` event to send for the seats' count `joined`, if any."""
        return None

    def start(self, items: list[Any]) -> int:
        """A new reader starts at the view shown now: earlier ones are gone from the room."""
        views = [i for i, item in enumerate(items) if item.get("kind") == "view"]
        return views[-1] if views else 0

    async def skip(self, items: list[Any]) -> None:
        """Events before the start, which a reader may fold without sending."""

    async def take(self, offset: int, items: list[Any], max_events: int) -> list[str]:
        out = []
        for at, item in enumerate(items, offset):
            kind = item.get("kind")
            if at >= max_events and kind != "end":
                continue  # past BPC_CLASS_MAX_EVENTS: refused when appended
            if kind == "view":
                out.append(sse("view", item["view"], at))
            elif kind == "reveal":
                out.append(sse("reveal", _without_kind(item), at))
            elif kind == "end":
                out.append(sse("end", {}, at))
        return out


class TeacherReader(Reader):
    """The teacher's view: every event, and the answers as a tally of the question asked now
    (one tally per run of answers, whose id is the last answer's offset)."""

    def __init__(self, names: Callable[[int], Awaitable[list[str]]]) -> None:
        self._names_from = names  # seats' names from a seat on (the members stream)
        self._names: list[str] = []
        self.show_names = False
        self.asked: Question | None = None
        self.answers: dict[str, dict[int, Any]] = {}  # question id -> seat -> latest answer
        self.joined_shown = -1  # nothing sent yet: the first count read is sent

    def seats(self, joined: int | None) -> str | None:
        if joined is None or joined == self.joined_shown:
            return None
        self.joined_shown = joined
        return sse("joined", {"joined": joined})  # no id: see the module's docstring

    def start(self, items: list[Any]) -> int:
        return 0  # the whole class so far: its pushes and, folded, its answers

    def _fold(self, item: dict[str, Any]) -> None:
        kind = item.get("kind")
        if kind == "view":
            stored = item.get("question")
            self.asked = None if stored is None else Question.from_stored(stored)
        elif kind == "names":
            self.show_names = bool(item["show"])
        elif kind == "answer":
            self.answers.setdefault(item["question"], {})[item["seat"]] = item["answer"]

    async def skip(self, items: list[Any]) -> None:
        for item in items:
            self._fold(item)

    async def _tally(self) -> dict[str, Any] | None:
        if self.asked is None:
            return None
        answers = self.answers.get(self.asked.id, {})
        names = None
        if self.show_names:
            if answers and max(answers) >= len(self._names):
                self._names.extend(await self._names_from(len(self._names)))
            names = dict(enumerate(self._names))
        return tally(self.asked, answers, names)

    async def take(self, offset: int, items: list[Any], max_events: int) -> list[str]:
        out: list[str] = []
        pending: int | None = None  # offset of the last answer to the asked question not shown
        for at, item in enumerate(items, offset):
            kind = item.get("kind")
            if at >= max_events and kind != "end":
                continue
            self._fold(item)
            if kind == "answer":
                if self.asked is not None and item["question"] == self.asked.id:
                    pending = at
                continue
            if pending is not None:
                out.append(sse("tally", await self._tally(), pending))
                pending = None
            if kind == "view":
                out.append(sse("view", {**item["view"], "question": item.get("question")}, at))
            elif kind == "names":
                # with the tally as it now reads (names in it or not)
                out.append(
                    sse("names", {"show": self.show_names, "tally": await self._tally()}, at)
                )
            elif kind == "reveal":
                out.append(sse("reveal", _without_kind(item), at))
            elif kind == "end":
                out.append(sse("end", {}, at))
        if pending is not None:
            out.append(sse("tally", await self._tally(), pending))
        return out


def _without_kind(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k != "kind"}


def members_reader(store: Store, class_id: str) -> Callable[[int], Awaitable[list[str]]]:
    async def names_from(seat: int) -> list[str]:
        members = await anyio.to_thread.run_sync(store.read, members_key(class_id), seat)
        return [member["name"] for member in members]

    return names_from
