"""The live class API over HTTP on both shared stores (an SQLite file, a real redis-server): the flow, tokens, limits at N and N+1, the end and expiry."""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.api.admission import AdmissionMiddleware
from app.api.live import Live, current_live
from app.classroom.feed import ClassFeeds
from app.classroom.service import Classroom
from app.core.limits import Limits
from app.main import app
from app.store import Store
from app.store.redis import RedisStore
from app.store.sqlite import SQLiteStore
from tests.redis_server import redis_url
from tests.test_store_contract import ManualClock

__all__ = ["redis_url"]  # a fixture, imported so pytest finds it here

API = "/api/v1/classes"
TTL_S = 3600.0
LIMITS = Limits().but(class_capacity=3, class_max_events=6)
JOIN_FAILURES = 3
QUESTION = {
    "id": "q1",
    "kind": "choice",
    "prompt": "What gradient does x receive?",
    "options": ["-4", "3", "1"],
    "answer": 0,
}


class Room:
    """A class on a fresh store, reached through the app's routes."""

    def __init__(self, client: TestClient, store: Store, clock: ManualClock, kind: str) -> None:
        self.client, self.store, self.clock, self.kind = client, store, clock, kind

    def start(self, **body: object) -> dict:
        answer = self.client.post(API, json=body)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def join(self, code: str, name: str | None = None) -> dict:
        answer = self.client.post(f"{API}/join", json={"code": code, "name": name})
        assert answer.status_code == 200, answer.text
        return answer.json()

    def post(self, class_id: str, action: str, token: str | None, body: object = None):
        headers = {} if token is None else {"Authorization": f"Bearer {token}"}
        return self.client.post(f"{API}/{class_id}/{action}", json=body, headers=headers)

    def csv(self, class_id: str, token: str):
        headers = {"Authorization": f"Bearer {token}"}
        return self.client.get(f"{API}/{class_id}/answers.csv", headers=headers)


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture(params=["sqlite", "redis"])
def room(request: pytest.FixtureRequest, client: TestClient, tmp_path: Path) -> Iterator[Room]:
    clock = ManualClock()
    store: Store
    if request.param == "sqlite":
        store = SQLiteStore(tmp_path / "class.db", clock)
    else:
        url = request.getfixturevalue("redis_url")
        store = RedisStore(url, prefix=f"test-{uuid.uuid4().hex}:", clock=clock)
    classroom = Classroom(store, LIMITS, TTL_S, JOIN_FAILURES, clock)
    live = Live(classroom, ClassFeeds(store, 0.05, 1.0, 4, LIMITS.class_max_events))
    app.dependency_overrides[current_live] = lambda: live
    try:
        yield Room(client, store, clock, request.param)
    finally:
        app.dependency_overrides.pop(current_live, None)
        live.close()


def _error(answer, status: int) -> dict:
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert body["status"] == status and len(body["detail"]) == 1
    return body["detail"][0]


def test_a_class_from_start_to_the_answers_csv(room: Room) -> None:
    started = room.start(show_names=True)
    assert len(started["code"]) == 8 and started["capacity"] == 3
    assert started["ends_at"] == room.clock.now + TTL_S
    class_id, teacher = started["class_id"], started["teacher_token"]
    ada = room.join(started["code"].lower(), " Ada ")
    bo = room.join(started["code"], '=HYPERLINK("x")')
    assert (ada["seat"], ada["name"]) == (0, "Ada") and bo["seat"] == 1

    pushed = room.post(class_id, "push", teacher, {"link": "/#e=x*y", "question": QUESTION})
    assert pushed.status_code == 200, pushed.text
    # the stream: 0 the names setting, 1 this view; students' view has no key
    assert pushed.json() == {
        "event": 1,
        "view": {
            "link": "/#e=x*y",
            "question": {k: v for k, v in QUESTION.items() if k != "answer"},
        },
    }
    for token, choice, event in ((ada, 1, 2), (bo, 0, 3), (ada, 0, 4)):  # Ada changes her mind
        answered = room.post(
            class_id, "answer", token["student_token"], {"question": "q1", "answer": choice}
        )
        assert answered.json() == {"event": event, "question": "q1"}

    revealed = room.post(class_id, "reveal", teacher, {"rule": "multiply swaps"})
    assert revealed.json() == {"event": 5, "question": "q1", "answer": 0, "rule": "multiply swaps"}

    csv = room.csv(class_id, teacher)
    assert csv.status_code == 200
    assert csv.headers["content-type"] == "text/csv; charset=utf-8"
    # each seat's last answer; a name a spreadsheet would run as a formula is quoted with '
    assert csv.text == (
        "question,prompt,seat,name,answer,option,correct\r\n"
        "q1,What gradient does x receive?,0,Ada,0,-4,yes\r\n"
        'q1,What gradient does x receive?,1,"\'=HYPERLINK(""x"")",0,-4,yes\r\n'
    )


def test_every_action_needs_the_right_token(room: Room) -> None:
    started = room.start()
    class_id, teacher = started["class_id"], started["teacher_token"]
    student = room.join(started["code"])["student_token"]
    other = room.start()
    view = {"link": "/", "question": QUESTION}

    assert _error(room.post(class_id, "push", None, view), 401)["loc"] == [
        "header",
        "Authorization",
    ]
    assert _error(room.post(class_id, "push", student, view), 403)["type"] == "not_authorized"
    assert _error(room.post(class_id, "push", other["teacher_token"], view), 403)
    assert _error(room.csv(class_id, student), 403)
    assert _error(room.post(class_id, "end", student), 403)
    assert room.post(class_id, "push", teacher, view).status_code == 200

    answer = {"question": "q1", "answer": 0}
    assert _error(room.post(class_id, "answer", teacher, answer), 403)  # a teacher is no seat
    # a student answers only for themself: their secret under another seat's number fails
    _seat, secret = student.split(".")
    room.join(started["code"])  # seat 1 exists
    assert _error(room.post(class_id, "answer", f"1.{secret}", answer), 403)
    assert _error(room.post(class_id, "answer", f"9.{secret}", answer), 403)
    assert _error(room.post(other["class_id"], "answer", student, answer), 403)
    assert room.post(class_id, "answer", student, answer).status_code == 200


def test_the_capacity_takes_its_number_and_refuses_one_more(room: Room) -> None:
    started = room.start()  # the setting: 3
    for seat in range(3):
        assert room.join(started["code"])["seat"] == seat
    refused = _error(room.client.post(f"{API}/join", json={"code": started["code"]}), 409)
    assert refused["type"] == "conflict" and "BPC_CLASS_CAPACITY" in refused["msg"]
    smaller = room.start(capacity=1)
    room.join(smaller["code"])
    assert _error(room.client.post(f"{API}/join", json={"code": smaller["code"]}), 409)
    too_big = room.client.post(API, json={"capacity": 4})
    assert _error(too_big, 422)["setting"] == "class_capacity"


def test_wrong_codes_are_limited_per_address_and_minute(room: Room) -> None:
    room.clock.now = 60 * 1000.0  # the start of a minute
    started = room.start()
    for wrong in ("AAAAAAAA", "no", "KT53U7Q9"):  # the limit: 3
        assert _error(room.client.post(f"{API}/join", json={"code": wrong}), 404)["loc"] == [
            "body",
            "code",
        ]
    refused = room.client.post(f"{API}/join", json={"code": started["code"]})
    problem = _error(refused, 429)
    assert refused.headers["Retry-After"] == "60" and problem["retry_after"] == 60
    assert problem["setting"] == "class_join_failures_per_minute"
    room.clock.advance(45)
    assert room.client.post(f"{API}/join", json={"code": "x"}).headers["Retry-After"] == "15"
    room.clock.advance(15)  # the next minute: the right code is let in
    assert room.join(started["code"])["seat"] == 0


def test_answers_go_to_the_question_asked_now(room: Room) -> None:
    started = room.start()
    class_id, teacher = started["class_id"], started["teacher_token"]
    student = room.join(started["code"])["student_token"]
    nothing = room.post(class_id, "answer", student, {"question": "q1", "answer": 0})
    assert "no question is asked now" in _error(nothing, 409)["msg"]
    assert _error(room.post(class_id, "reveal", teacher, {}), 409)
    room.post(class_id, "push", teacher, {"link": "/", "question": QUESTION})
    stale = room.post(class_id, "answer", student, {"question": "q0", "answer": 0})
    assert _error(stale, 409)["loc"] == ["body", "question"]
    out_of_range = room.post(class_id, "answer", student, {"question": "q1", "answer": 3})
    assert _error(out_of_range, 422)["loc"] == ["body", "answer"]


def test_a_class_holds_its_events_up_to_the_limit(room: Room) -> None:
    started = room.start()  # event 0: the names setting
    class_id, teacher = started["class_id"], started["teacher_token"]
    student = room.join(started["code"])["student_token"]
    room.post(class_id, "push", teacher, {"link": "/", "question": QUESTION})  # event 1
    answer = {"question": "q1", "answer": 0}
    for event in (2, 3, 4, 5):  # the limit: 6 events, offsets 0 to 5
        assert room.post(class_id, "answer", student, answer).json()["event"] == event
    over = _error(room.post(class_id, "answer", student, answer), 413)
    assert (over["limit"], over["got"], over["setting"]) == (6, 7, "class_max_events")


def test_a_pushed_link_must_be_a_page_of_the_site(room: Room) -> None:
    started = room.start()
    refused = room.post(
        started["class_id"], "push", started["teacher_token"], {"link": "https://evil.example/"}
    )
    assert _error(refused, 422)["loc"] == ["body", "link"]


def _left_in(room: Room, class_id: str, code: str) -> int:
    """How many keys or rows of this class the store still holds."""
    if room.kind == "sqlite":
        assert isinstance(room.store, SQLiteStore)
        with sqlite3.connect(room.store.path) as db:
            return sum(
                db.execute(
                    f"SELECT COUNT(*) FROM {table} WHERE {column} LIKE ?", (like,)
                ).fetchone()[0]
                for table, column in (("records", "key"), ("items", "stream"), ("deadlines", "key"))
                for like in (f"%{class_id}", f"code:{code}")
            )
    assert isinstance(room.store, RedisStore)
    return sum(
        1
        for pattern in (f"*{class_id}", f"*code:{code}")
        for _ in room.store._redis.scan_iter(match=pattern)
    )


def test_ending_a_class_deletes_it(room: Room) -> None:
    started = room.start()
    class_id, teacher, code = started["class_id"], started["teacher_token"], started["code"]
    student = room.join(code)["student_token"]
    room.post(class_id, "push", teacher, {"link": "/", "question": QUESTION})
    room.post(class_id, "answer", student, {"question": "q1", "answer": 0})
    assert _left_in(room, class_id, code) > 0
    assert room.post(class_id, "end", teacher).json() == {"ended": True}
    assert _left_in(room, class_id, code) == 0
    assert _error(room.client.post(f"{API}/join", json={"code": code}), 404)
    assert _error(room.csv(class_id, teacher), 404)["loc"] == ["path", "class_id"]


def test_a_class_ends_by_itself_after_its_time(room: Room) -> None:
    started = room.start()
    class_id, teacher = started["class_id"], started["teacher_token"]
    room.clock.advance(TTL_S - 1)
    assert room.csv(class_id, teacher).status_code == 200
    room.clock.advance(1)
    assert _error(room.csv(class_id, teacher), 404)
    assert _error(room.client.post(f"{API}/join", json={"code": started["code"]}), 404)


def test_a_room_behind_one_address_is_not_held_to_the_compute_cap() -> None:
    """Class actions are store work, not compute: more joins and answers in progress from one
    address (a school's NAT) than BPC_COMPUTE_PER_CLIENT all go in, while an evaluate past the
    cap from that address is still refused."""
    release = asyncio.Event()
    entered: list[str] = []

    async def held(scope: Any, receive: Any, send: Any) -> None:
        entered.append(scope["path"])
        await release.wait()

    per_client = 2
    door = AdmissionMiddleware(held, max_in_flight=100, per_client=per_client)
    refused: list[dict[str, Any]] = []

    async def keep(message: dict[str, Any]) -> None:
        refused.append(message)

    def scope(path: str) -> dict[str, Any]:
        return {"type": "http", "method": "POST", "path": path, "client": ("10.1.1.1", 5000)}

    class_paths = [f"{API}/join"] * 3 + [f"{API}/fE8iRCVehmsWOWNe/answer"] * 3
    compute = ["/api/v1/circuits/evaluate"] * per_client

    async def scenario() -> None:
        inside = [
            asyncio.ensure_future(door(scope(path), _no_body, keep))  # type: ignore[arg-type]
            for path in class_paths + compute
        ]
        await asyncio.sleep(0)
        assert door.clients == {"10.1.1.1": per_client}  # only the evaluates are counted
        await door(scope("/api/v1/circuits/evaluate"), _no_body, keep)  # type: ignore[arg-type]
        release.set()
        await asyncio.gather(*inside)

    asyncio.run(scenario())
    assert sorted(entered) == sorted(class_paths + compute)  # 6 class actions + 2 evaluates
    assert refused[0]["status"] == 429  # the 3rd evaluate, and nothing else
    assert len(refused) == 2  # its start and body


async def _no_body() -> dict[str, Any]:
    raise AssertionError("a request held at the door must not be read here")
