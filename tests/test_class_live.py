"""The live class on a real server with two worker processes (as the Dockerfile starts it), on both stores: events reach readers on either worker, Last-Event-ID resumes exactly, and a killed worker loses nothing."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.live_app import running_app
from tests.redis_server import redis_url

__all__ = ["redis_url"]  # a fixture, imported so pytest finds it here

API = "/api/v1/classes"
ENV = {"BPC_CLASS_POLL_S": "0.1", "BPC_CLASS_HEARTBEAT_S": "2", "BPC_HEAVY_POOL_WORKERS": "1"}
WAIT_S = 20.0  # generous: the machine is shared; nothing here measures time
UP_S = 120.0  # two workers, each starting its job processes, on a busy machine


@dataclass
class Event:
    id: int | None
    event: str
    data: Any


class EventReader:
    """Reads a class's event stream on a thread, one Event at a time."""

    def __init__(self, base: str, class_id: str, token: str, last_event_id: int | None = None):
        headers = {"Authorization": f"Bearer {token}"}
        if last_event_id is not None:
            headers["Last-Event-ID"] = str(last_event_id)
        self._client = httpx.Client(timeout=httpx.Timeout(WAIT_S))
        self._request = self._client.build_request(
            "GET", f"{base}{API}/{class_id}/events", headers=headers
        )
        self.events: queue.Queue[Event | None] = queue.Queue()
        self.opened = threading.Event()
        self.status = 0
        self.instance = ""
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()
        assert self.opened.wait(WAIT_S), "the stream did not open"

    def _read(self) -> None:
        try:
            response = self._client.send(self._request, stream=True)
            self.status, self.instance = response.status_code, response.headers["X-Instance"]
            self.opened.set()
            fields: dict[str, str] = {}
            for line in response.iter_lines():
                if line == "":
                    if "event" in fields:
                        event_id = int(fields["id"]) if "id" in fields else None
                        self.events.put(
                            Event(event_id, fields["event"], json.loads(fields["data"]))
                        )
                    fields = {}
                elif not line.startswith(":"):
                    name, _, value = line.partition(": ")
                    fields[name] = value
        except httpx.HTTPError:
            pass  # the stream broke (a killed worker) or was closed
        finally:
            self.opened.set()
            self.events.put(None)  # the stream ended

    def next(self, kinds: tuple[str, ...] = ("view", "reveal", "end", "tally", "names")) -> Event:
        """The next event of one of `kinds` (others are skipped); fails if the stream ends."""
        while True:
            event = self.events.get(timeout=WAIT_S)
            assert event is not None, "the stream ended"
            if event.event in kinds:
                return event

    def ended(self) -> bool:
        """Whether the stream closes (after any events still queued)."""
        with contextlib.suppress(queue.Empty):
            while self.events.get(timeout=WAIT_S) is not None:
                continue
            return True
        return False

    def close(self) -> None:
        self._client.close()


def _post(base: str, path: str, token: str | None = None, body: Any = None) -> dict:
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    answer = httpx.post(f"{base}{API}{path}", json=body, headers=headers, timeout=WAIT_S)
    assert answer.status_code == 200, answer.text
    return answer.json()


def _question(qid: str) -> dict:
    return {
        "id": qid,
        "kind": "choice",
        "prompt": "x receives?",
        "options": ["-4", "3"],
        "answer": 0,
    }


@pytest.fixture(scope="module", params=["sqlite", "redis"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    if request.param == "sqlite":
        store = f"sqlite:///{tmp_path_factory.mktemp('store')}/class.db"
    else:
        store = request.getfixturevalue("redis_url")
    with running_app({**ENV, "BPC_STORE": store}, workers=2, up_timeout=UP_S) as base:
        yield base


@pytest.fixture
def opened(server: str) -> Iterator[list[EventReader]]:
    readers: list[EventReader] = []
    yield readers
    for reader in readers:
        reader.close()


def test_a_push_through_one_worker_reaches_readers_on_both(
    server: str, opened: list[EventReader]
) -> None:
    started = _post(server, "", body={})
    class_id, teacher = started["class_id"], started["teacher_token"]
    # One reader on each worker process. A connection lands on whichever worker accepts it
    # first, and /healthz answered from one of them: the other may still be starting (its
    # job processes' imports), so new readers are tried until both hold one, keeping the
    # first of each and closing the rest (at most 250 students, under the class's 300).
    deadline = time.monotonic() + UP_S
    for _ in range(250):
        student = _post(server, "/join", body={"code": started["code"]})["student_token"]
        reader = EventReader(server, class_id, student)
        if reader.instance in {kept.instance for kept in opened}:
            reader.close()
        else:
            opened.append(reader)
        if len(opened) == 2 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert len({reader.instance for reader in opened}) == 2, "every stream went to one worker"
    pushed = _post(
        server, f"/{class_id}/push", teacher, {"link": "/#e=x*y", "question": _question("q1")}
    )
    for reader in opened:
        assert reader.status == 200
        event = reader.next()
        assert (event.id, event.event) == (pushed["event"], "view")
        assert event.data == pushed["view"] and "answer" not in event.data["question"]


def test_last_event_id_resumes_just_after_it(server: str, opened: list[EventReader]) -> None:
    started = _post(server, "", body={})
    class_id, teacher = started["class_id"], started["teacher_token"]
    student = _post(server, "/join", body={"code": started["code"]})["student_token"]
    first = EventReader(server, class_id, student)
    opened.append(first)
    ids = [
        _post(server, f"/{class_id}/push", teacher, {"link": f"/#e=x*{n}"})["event"]
        for n in range(3)
    ]
    got = [first.next() for _ in range(3)]
    assert [e.id for e in got] == ids and [e.data["link"] for e in got] == [
        "/#e=x*0",
        "/#e=x*1",
        "/#e=x*2",
    ]
    again = EventReader(server, class_id, student, last_event_id=got[1].id)
    opened.append(again)
    third = again.next()
    assert (third.id, third.data["link"]) == (got[2].id, "/#e=x*2")
    later = _post(server, f"/{class_id}/push", teacher, {"link": "/#e=x*3"})
    fourth = again.next()
    assert (fourth.id, fourth.data["link"]) == (later["event"], "/#e=x*3")


def test_the_teacher_sees_answers_arrive_as_a_tally_and_everyone_sees_the_end(
    server: str, opened: list[EventReader]
) -> None:
    started = _post(server, "", body={"show_names": True})
    class_id, teacher = started["class_id"], started["teacher_token"]
    ada = _post(server, "/join", body={"code": started["code"], "name": "Ada"})["student_token"]
    bo = _post(server, "/join", body={"code": started["code"], "name": "Bo"})["student_token"]
    watching = EventReader(server, class_id, teacher)
    following = EventReader(server, class_id, ada)
    opened.extend([watching, following])
    assert watching.next() == Event(0, "names", {"show": True, "tally": None})
    _post(server, f"/{class_id}/push", teacher, {"link": "/", "question": _question("q1")})
    assert watching.next().data["question"]["key"] == 0  # the teacher's view has the key
    _post(server, f"/{class_id}/answer", ada, {"question": "q1", "answer": 0})
    first = watching.next(("tally",))
    assert (first.data["answered"], first.data["counts"][0]) == (
        1,
        {"answer": 0, "count": 1, "names": ["Ada"]},
    )
    answered = _post(server, f"/{class_id}/answer", bo, {"question": "q1", "answer": 1})
    # Ada chose the key (0), Bo option 1: 2 answered, 1 correct, a share of 0.5
    second = watching.next(("tally",))
    assert second.id == answered["event"]
    assert second.data == {
        "question": "q1",
        "answered": 2,
        "counts": [
            {"answer": 0, "count": 1, "names": ["Ada"]},
            {"answer": 1, "count": 1, "names": ["Bo"]},
        ],
        "other": 0,
        "correct": 1,
        "share_correct": 0.5,
    }
    assert following.next().event == "view"
    _post(server, f"/{class_id}/end", teacher)
    assert following.next(("end",)).event == "end" and following.ended()
    assert watching.next(("end",)).event == "end" and watching.ended()


def test_the_teacher_is_told_how_many_joined_and_no_event_id_moves(
    server: str, opened: list[EventReader]
) -> None:
    started = _post(server, "", body={})
    class_id, teacher, code = started["class_id"], started["teacher_token"], started["code"]
    watching = EventReader(server, class_id, teacher)
    opened.append(watching)
    assert watching.next(("joined",)) == Event(None, "joined", {"joined": 0})
    ada = _post(server, "/join", body={"code": code, "name": "Ada"})["student_token"]
    following = EventReader(server, class_id, ada)
    opened.append(following)
    for name in ("Bo", "Cy"):
        _post(server, "/join", body={"code": code, "name": name})
    counts = []
    while counts[-1:] != [3]:  # each join seen by a poll of its own, or several by one
        event = watching.next(("joined",))
        assert event.id is None  # a count, not an event of the class's stream
        counts.append(event.data["joined"])
    assert counts == sorted(set(counts)) and set(counts) <= {1, 2, 3}
    # 0 is the names setting; the joins took no offset, so this view is 1 for everyone
    pushed = _post(server, f"/{class_id}/push", teacher, {"link": "/#e=x*y"})
    assert pushed["event"] == 1
    assert watching.next(("view", "joined")).id == 1
    assert following.next(("view", "joined")) == Event(1, "view", pushed["view"])


def test_event_streams_per_worker_are_bounded(tmp_path: Path) -> None:
    """One worker taking 2 streams: the third is refused, naming the setting."""
    env = {
        **ENV,
        "BPC_STORE": f"sqlite:///{tmp_path}/class.db",
        "BPC_CLASS_STREAMS_PER_WORKER": "2",
    }
    with running_app(env, workers=1, up_timeout=UP_S) as base:
        started = _post(base, "", body={})
        class_id, teacher = started["class_id"], started["teacher_token"]
        readers = [EventReader(base, class_id, teacher) for _ in range(2)]
        try:
            for reader in readers:
                assert reader.status == 200 and reader.next().event == "names"
            headers = {"Authorization": f"Bearer {teacher}"}
            third = httpx.get(f"{base}{API}/{class_id}/events", headers=headers, timeout=WAIT_S)
            assert third.status_code == 503 and third.headers["Retry-After"] == "5"
            assert third.json()["detail"][0]["setting"] == "class_streams_per_worker"
            readers.pop().close()
            deadline = time.monotonic() + WAIT_S
            while True:  # the server sees the closed stream go, and takes a new one
                with httpx.stream(
                    "GET", f"{base}{API}/{class_id}/events", headers=headers, timeout=WAIT_S
                ) as fourth:
                    if fourth.status_code == 200:
                        break
                assert time.monotonic() < deadline, "the closed stream was never let go"
                time.sleep(0.2)
        finally:
            for reader in readers:
                reader.close()


def test_a_killed_worker_loses_nothing(tmp_path: Path) -> None:
    """SIGKILL the worker holding a student's stream mid-class: the class, its view and its
    answers are all still there, and the student's reconnect with Last-Event-ID misses nothing."""
    env = {**ENV, "BPC_STORE": f"sqlite:///{tmp_path}/class.db"}
    with running_app(env, workers=2, up_timeout=UP_S) as base:
        started = _post(base, "", body={})
        class_id, teacher = started["class_id"], started["teacher_token"]
        ada = _post(base, "/join", body={"code": started["code"], "name": "Ada"})["student_token"]
        bo = _post(base, "/join", body={"code": started["code"], "name": "Bo"})["student_token"]
        _post(base, f"/{class_id}/push", teacher, {"link": "/#e=x*y", "question": _question("q1")})
        _post(base, f"/{class_id}/answer", ada, {"question": "q1", "answer": 0})
        reader = EventReader(base, class_id, bo)
        try:
            seen = reader.next()
            assert (seen.event, seen.data["link"]) == ("view", "/#e=x*y")
            pid = int(reader.instance.rsplit("-", 1)[1])
            os.kill(pid, signal.SIGKILL)
            assert reader.ended()  # its connection died with it
        finally:
            reader.close()
        # meanwhile the class goes on, through whichever worker is left or respawned
        pushed = _post(
            base, f"/{class_id}/push", teacher, {"link": "/#e=x+y", "question": _question("q2")}
        )
        _post(base, f"/{class_id}/answer", bo, {"question": "q2", "answer": 1})
        back = EventReader(base, class_id, bo, last_event_id=seen.id)
        try:
            assert back.instance != reader.instance
            resumed = back.next()
            assert (resumed.id, resumed.data["link"]) == (pushed["event"], "/#e=x+y")
        finally:
            back.close()
        csv = httpx.get(
            f"{base}{API}/{class_id}/answers.csv",
            headers={"Authorization": f"Bearer {teacher}"},
            timeout=WAIT_S,
        )
        assert csv.text.splitlines()[1:] == [
            "q1,x receives?,0,Ada,0,-4,yes",
            "q2,x receives?,1,Bo,1,3,no",
        ]
