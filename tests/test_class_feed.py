"""What each reader is sent of a class's stream, without a server: students' events, the teacher's tallies, ids and the events limit."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

from app.classroom.feed import ClassFeeds, Reader, TeacherReader, sse
from app.classroom.service import Classroom
from app.core.limits import Limits
from app.store.memory import MemoryStore

KEYED = {"id": "q1", "kind": "choice", "prompt": "x?", "options": ["-4", "3"], "key": 0,
         "tolerance": 0.0}  # fmt: skip
PUBLIC = {"id": "q1", "kind": "choice", "prompt": "x?", "options": ["-4", "3"]}
STREAM = [
    {"kind": "names", "show": False},  # 0
    {"kind": "view", "view": {"link": "/a", "question": None}, "question": None},  # 1
    {"kind": "view", "view": {"link": "/b", "question": PUBLIC}, "question": KEYED},  # 2
    {"kind": "answer", "seat": 0, "question": "q1", "answer": 0},  # 3
    {"kind": "answer", "seat": 1, "question": "q1", "answer": 1},  # 4
    {"kind": "answer", "seat": 0, "question": "q1", "answer": 1},  # 5: seat 0 changes its mind
    {"kind": "reveal", "question": "q1", "answer": 0, "rule": "add passes it on"},  # 6
    {"kind": "end"},  # 7
]


def _parse(texts: list[str]) -> list[tuple[int | None, str, object]]:
    events = []
    for text in texts:
        fields = dict(line.split(": ", 1) for line in text.strip().split("\n"))
        event_id = int(fields["id"]) if "id" in fields else None
        events.append((event_id, fields["event"], json.loads(fields["data"])))
    return events


def test_an_event_is_its_id_its_name_and_one_line_of_json() -> None:
    assert sse("view", {"link": "/"}, 4) == 'id: 4\nevent: view\ndata: {"link":"/"}\n\n'
    assert sse("end", {}) == "event: end\ndata: {}\n\n"


def test_a_student_gets_views_reveals_and_the_end_never_a_key_or_an_answer() -> None:
    reader = Reader()
    assert reader.start(STREAM) == 2  # a new reader starts at the view shown now
    sent = _parse(asyncio.run(reader.take(2, STREAM[2:], max_events=100)))
    assert sent == [
        (2, "view", {"link": "/b", "question": PUBLIC}),
        (6, "reveal", {"question": "q1", "answer": 0, "rule": "add passes it on"}),
        (7, "end", {}),
    ]


def test_events_past_the_limit_are_not_sent_but_the_end_is() -> None:
    sent = _parse(asyncio.run(Reader().take(0, STREAM, max_events=2)))
    assert [(i, name) for i, name, _ in sent] == [(1, "view"), (7, "end")]


async def _no_names(seat: int) -> list[str]:
    return []


def test_the_teacher_gets_one_tally_per_run_of_answers_with_the_last_ones_id() -> None:
    teacher = TeacherReader(_no_names)
    assert teacher.start(STREAM) == 0
    sent = _parse(asyncio.run(teacher.take(0, STREAM, max_events=100)))
    assert [(i, name) for i, name, _ in sent] == [
        (0, "names"),
        (1, "view"),
        (2, "view"),
        (5, "tally"),  # answers 3, 4 and 5 in one run: one tally, id of the last
        (6, "reveal"),
        (7, "end"),
    ]
    assert sent[2][2] == {"link": "/b", "question": KEYED}  # the teacher's view has the key
    # seat 0's latest answer is 1, seat 1's is 1: 2 answered, none chose the key 0
    assert sent[3][2] == {
        "question": "q1",
        "answered": 2,
        "counts": [{"answer": 0, "count": 0}, {"answer": 1, "count": 2}],
        "other": 0,
        "correct": 0,
        "share_correct": 0.0,
    }


def test_a_teacher_resuming_folds_what_came_before_without_sending_it() -> None:
    teacher = TeacherReader(_no_names)
    asyncio.run(teacher.skip(STREAM[:4]))  # resumed after answer 3
    sent = _parse(asyncio.run(teacher.take(4, STREAM[4:6], max_events=100)))
    # answers 3 (folded), 4 and 5: seat 0 now 1, seat 1 1
    assert [(i, name) for i, name, _ in sent] == [(5, "tally")]
    assert sent[0][2]["answered"] == 2 and sent[0][2]["counts"][1]["count"] == 2


def test_names_come_from_the_seats_when_the_teacher_turns_them_on() -> None:
    async def names(seat: int) -> list[str]:
        return ["Ada", "Bo"][seat:]

    teacher = TeacherReader(names)
    stream = [{"kind": "names", "show": True}, *STREAM[1:5]]
    sent = _parse(asyncio.run(teacher.take(0, stream, max_events=100)))
    assert sent[0] == (0, "names", {"show": True, "tally": None})
    assert sent[-1][2]["counts"] == [
        {"answer": 0, "count": 1, "names": ["Ada"]},
        {"answer": 1, "count": 1, "names": ["Bo"]},
    ]


async def _next_event(stream: AsyncIterator[str]) -> tuple[int | None, str, object]:
    """The stream's next event, past its retry line and heartbeats (10 s: a hung feed fails)."""
    while True:
        text = await asyncio.wait_for(anext(stream), 10)
        if not text.startswith(("retry:", ":")):
            return _parse([text])[0]


def test_the_teacher_is_told_how_many_joined_with_no_id_and_a_student_is_not() -> None:
    async def run() -> None:
        store = MemoryStore()
        room = Classroom(store, Limits(), 3600.0, 0)
        started = room.start(None, False)
        class_id, teacher, code = started["class_id"], started["teacher_token"], started["code"]
        ada = room.join(code, "Ada", "10.0.0.1")
        feeds = ClassFeeds(store, 0.01, 5.0, 10, 100)
        async with (
            feeds.follow(class_id, seats=True) as feed,
            feeds.follow(class_id) as same_feed,
        ):
            assert same_feed is feed and feed.teachers == 1
            watching = feeds.events(feed, TeacherReader(_no_names), None)
            following = feeds.events(feed, Reader(), None)
            assert ada["seat"] == 0
            assert await _next_event(watching) == (0, "names", {"show": False, "tally": None})
            assert await _next_event(watching) == (None, "joined", {"joined": 1})
            room.join(code, "Bo", "10.0.0.2")
            room.join(code, None, "10.0.0.3")
            counts: list[object] = []
            while counts[-1:] != [{"joined": 3}]:  # one poll may see both joins, or each
                event_id, name, data = await _next_event(watching)
                assert (event_id, name) == (None, "joined")
                counts.append(data)
            assert counts in ([{"joined": 3}], [{"joined": 2}, {"joined": 3}])
            # the joins took no offset in the class's stream: names is 0, this view 1
            offset, view = room.push(class_id, teacher, "/#e=x*y", None)
            assert offset == 1
            assert await _next_event(watching) == (1, "view", view)
            assert await _next_event(following) == (1, "view", view)  # never a joined event
            room.end(class_id, teacher)  # deleted at once: its end event may go unread (no id)
            assert (await _next_event(following))[1:] == ("end", {})
            assert (await _next_event(watching))[1:] == ("end", {})
        assert feed.teachers == 0 and feed.readers == 0

    asyncio.run(run())
