"""The class's actions applied to a Store: start, join, push, answer, reveal, names, the CSV and end.

A class is a few names in the store, each expiring when the class does (BPC_CLASS_TTL_S):
`class:<id>` is the class's record (its code, the teacher token's digest, capacity, the question
asked now) and its event stream (views, reveals, answers, end), `members:<id>` the stream of
seats in join order, `code:<code>` the code's class. Answers are appended, never written over,
so 300 students answering at once never contend for one record; the stream's offset is each
event's id, so a reader that reconnects says where it was and gets exactly what followed.
Every call is blocking (the routes run it on a thread).
"""

from __future__ import annotations

import csv
import io
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from app.classroom.rules import (
    CODE_ALPHABET,
    CODE_LENGTH,
    ClassProblem,
    Question,
    answer_for,
    capacity_of,
    digest,
    display_name,
    new_class_id,
    new_code,
    new_secret,
    normal_code,
    page_link,
    parse_student_token,
    plain_text,
    question,
    same_secret,
    student_token,
)
from app.core.errors import LimitError, Problem, ProblemError
from app.core.limits import Limits
from app.store import Conflict, Missing, Record, Store

_CAS_TRIES = 50  # compare-and-set retries before a 503: only a storm of writers gets there


class JoinsThrottled(ClassProblem):
    """Too many wrong codes from one address this minute: 429 with Retry-After."""

    def __init__(self, retry_after: int, limit: int) -> None:
        super().__init__(
            429,
            "too_many_requests",
            ("body", "code"),
            f"{limit} wrong join codes from this address this minute, the most allowed "
            f"(setting BPC_CLASS_JOIN_FAILURES_PER_MINUTE): try again in {retry_after} s",
        )
        self.retry_after = retry_after
        self.problems[0].extra.update(
            {"retry_after": retry_after, "setting": "class_join_failures_per_minute"}
        )


def class_key(class_id: str) -> str:
    return f"class:{class_id}"


def members_key(class_id: str) -> str:
    return f"members:{class_id}"


def _not_found(loc: tuple[str | int, ...], msg: str) -> ClassProblem:
    return ClassProblem(404, "not_found", loc, msg)


def _conflict(msg: str, loc: tuple[str | int, ...] = ("body",)) -> ClassProblem:
    return ClassProblem(409, "conflict", loc, msg)


@dataclass
class Classroom:
    """The class actions on one store, with the limits and times they keep."""

    store: Store
    limits: Limits
    ttl_s: float
    join_failures_per_minute: int
    clock: Callable[[], float] = time.time

    # --- teacher ------------------------------------------------------------------------------

    def start(self, capacity: int | None, show_names: bool) -> dict[str, Any]:
        capacity = capacity_of(capacity, self.limits)
        class_id, secret = new_class_id(), new_secret()
        for _ in range(10):  # a clash among 8.5e11 codes is rare; ten in a row is a broken store
            code = new_code()
            try:
                self.store.create(f"code:{code}", {"class": class_id}, ttl=self.ttl_s)
                break
            except Conflict:
                continue
        else:
            raise ClassProblem(503, "server_busy", ("body",), "no free join code found: try again")
        ends_at = self.clock() + self.ttl_s
        record = {
            "code": code,
            "teacher": digest(secret),
            "capacity": capacity,
            "show_names": show_names,
            "ends_at": ends_at,
            "question": None,
        }
        self.store.create(class_key(class_id), record, ttl=self.ttl_s)
        self.store.create(members_key(class_id), {"class": class_id}, ttl=self.ttl_s)
        # the stream starts with the names setting, so a reader folding it from 0 knows it
        self.store.append(class_key(class_id), {"kind": "names", "show": show_names})
        return {
            "class_id": class_id,
            "code": code,
            "teacher_token": secret,
            "capacity": capacity,
            "ends_at": ends_at,
            "show_names": show_names,
        }

    def teacher(self, class_id: str, token: str) -> Record:
        """The class's record, if `token` is its teacher's."""
        record = self._class(class_id)
        if not same_secret(token, record.value["teacher"]):
            raise ClassProblem(
                403, "not_authorized", ("header", "Authorization"),
                "this is not the teacher token of the class",
            )  # fmt: skip
        return record

    def push(
        self, class_id: str, token: str, link: str, asked: dict[str, Any] | None
    ) -> tuple[int, dict[str, Any]]:
        """Sends everyone a view (a page link and maybe a question); the question becomes the
        one students may answer. Returns the event's offset and the view as students get it."""
        self.teacher(class_id, token)
        link = page_link(link, self.limits)
        q = None if asked is None else question(**asked, limits=self.limits)
        self._change(class_id, lambda value: {**value, "question": q and q.stored()})
        view = {"link": link, "question": q and q.public()}
        # the key rides beside the view, for the teacher's tally; students get `view` alone
        event = {"kind": "view", "view": view, "question": q and q.stored()}
        return self._append(class_id, event), view

    def reveal(
        self, class_id: str, token: str, rule: str | None, answer: Any
    ) -> tuple[int, dict[str, Any]]:
        """Sends everyone the asked question's answer (its key unless the teacher gives one)
        and the rule it illustrates."""
        record = self.teacher(class_id, token)
        q = self._asked(record)
        text_limit = self.limits.class_text_max_chars
        if isinstance(answer, str):
            answer = plain_text(answer, text_limit, "class_text_max_chars", ("body", "answer"))
        elif answer is not None and not math.isfinite(answer):
            raise ProblemError(Problem("the answer is a finite number", loc=("body", "answer")))
        rule = "" if rule is None else plain_text(
            rule, text_limit, "class_text_max_chars", ("body", "rule")
        )  # fmt: skip
        shown = {"question": q.id, "answer": q.key if answer is None else answer, "rule": rule}
        return self._append(class_id, {"kind": "reveal", **shown}), shown

    def show_names(self, class_id: str, token: str, show: bool) -> int:
        """Turns the students' names in the teacher's tally on or off."""
        self.teacher(class_id, token)
        self._change(class_id, lambda value: {**value, "show_names": show})
        return self._append(class_id, {"kind": "names", "show": show})

    def end(self, class_id: str, token: str) -> None:
        """Tells every reader the class is over, then deletes the class and its streams."""
        record = self.teacher(class_id, token)
        self.store.append(class_key(class_id), {"kind": "end"})
        for key in (class_key(class_id), members_key(class_id), f"code:{record.value['code']}"):
            self.store.expire(key, 0)

    def answers_csv(self, class_id: str, token: str) -> str:
        """Every student's last answer to every question asked, one row each."""
        self.teacher(class_id, token)
        events = self.store.read(class_key(class_id), 0, self.limits.class_max_events)
        names = [m["name"] for m in self.store.read(members_key(class_id))]
        asked: dict[str, Question] = {}  # each question as last pushed, with its key
        latest: dict[tuple[str, int], Any] = {}
        for event in events:
            if event["kind"] == "view" and event.get("question") is not None:
                asked[event["question"]["id"]] = Question.from_stored(event["question"])
            elif event["kind"] == "answer":
                latest[(event["question"], event["seat"])] = event["answer"]
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(["question", "prompt", "seat", "name", "answer", "option", "correct"])
        for (qid, seat), answer in sorted(latest.items()):
            q = asked[qid]
            option = q.options[answer] if q.kind == "choice" else ""
            verdict = q.is_correct(answer)
            correct = "" if verdict is None else ("yes" if verdict else "no")
            name = names[seat] if seat < len(names) else ""
            row = [qid, q.prompt, seat, name, answer, option, correct]
            writer.writerow([_cell(value) for value in row])
        return out.getvalue()

    # --- student ------------------------------------------------------------------------------

    def join(self, code_text: str, name: str | None, client: str) -> dict[str, Any]:
        """A seat in the class whose code this is. Wrong codes count against the client's
        address, so nobody can try codes fast enough to find a class."""
        failures = f"joinfail:{client}:{int(self.clock() // 60)}"
        limit = self.join_failures_per_minute
        if limit > 0:
            counted = self.store.get(failures)
            if counted is not None and counted.value >= limit:
                raise JoinsThrottled(max(1, math.ceil(60 - self.clock() % 60)), limit)
        name = display_name(name, self.limits)
        code = normal_code(code_text)
        found = None
        if len(code) == CODE_LENGTH and all(ch in CODE_ALPHABET for ch in code):
            pointer = self.store.get(f"code:{code}")
            found = pointer and self.store.get(class_key(pointer.value["class"]))
        if not found or not pointer:
            if limit > 0:
                self._count(failures)
            raise _not_found(("body", "code"), "no class has this code (it may have ended)")
        class_id = pointer.value["class"]
        capacity = found.value["capacity"]
        full = _conflict(
            f"the class is full: {capacity} students (setting BPC_CLASS_CAPACITY, or the "
            "capacity the teacher chose)",
            ("body", "code"),
        )
        if self.store.read(members_key(class_id), capacity, 1):
            raise full
        secret = new_secret()
        seat = self.store.append(members_key(class_id), {"name": name, "token": digest(secret)})
        if seat >= capacity:  # others joined between the check and the append
            raise full
        return {
            "class_id": class_id,
            "student_token": student_token(seat, secret),
            "seat": seat,
            "name": name,
        }

    def student(self, class_id: str, token: str) -> int:
        """The seat whose token this is."""
        record = self._class(class_id)
        parsed = parse_student_token(token)
        if parsed is not None and parsed[0] < record.value["capacity"]:
            seat, secret = parsed
            member = self.store.read(members_key(class_id), seat, 1)
            if member and same_secret(secret, member[0]["token"]):
                return seat
        raise ClassProblem(
            403, "not_authorized", ("header", "Authorization"),
            "this is not a student token of the class",
        )  # fmt: skip

    def reader(self, class_id: str, token: str) -> int | None:
        """Who reads the events: None for the teacher, else the student's seat."""
        record = self._class(class_id)
        if same_secret(token, record.value["teacher"]):
            return None
        return self.student(class_id, token)

    def answer(self, class_id: str, token: str, question_id: str, given: float | str) -> int:
        """Keeps a student's answer to the question asked now; a later one replaces it."""
        seat = self.student(class_id, token)
        q = self._asked(self._class(class_id))
        if question_id != q.id:
            raise _conflict(
                f"question {question_id!r:.70} is not the one asked now ({q.id!r})",
                ("body", "question"),
            )
        value = answer_for(q, given, self.limits)
        return self._append(
            class_id, {"kind": "answer", "seat": seat, "question": q.id, "answer": value}
        )

    # --- the store ----------------------------------------------------------------------------

    def _class(self, class_id: str) -> Record:
        record = self.store.get(class_key(class_id))
        if record is None:
            raise _not_found(("path", "class_id"), "no class with this id (it may have ended)")
        return record

    @staticmethod
    def _asked(record: Record) -> Question:
        stored = record.value["question"]
        if stored is None:
            raise _conflict("no question is asked now: push a view with a question first")
        return Question.from_stored(stored)

    def _append(self, class_id: str, event: dict[str, Any]) -> int:
        """Adds an event under BPC_CLASS_MAX_EVENTS. Readers ignore any past it, so the check
        after the append (a race between two near the end) keeps the bound exact."""
        limit = self.limits.class_max_events
        stream = class_key(class_id)
        full = bool(self.store.read(stream, limit, 1))  # one read: is there an event at `limit`?
        offset = limit if full else self.store.append(stream, event)
        if offset >= limit:
            raise LimitError(
                "the number of events of this class", offset + 1, limit, "class_max_events",
                ("body",),
            )  # fmt: skip
        return offset

    def _change(self, class_id: str, change: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
        """Compare-and-set of the class's record: read, change, write unless another writer
        came first, then read again."""
        for _ in range(_CAS_TRIES):
            record = self._class(class_id)
            try:
                self.store.update(class_key(class_id), change(record.value), record.version)
                return
            except Conflict:
                continue
            except Missing:
                break
        self._class(class_id)  # 404 if it ended meanwhile
        raise ClassProblem(
            503, "server_busy", ("body",), "the class is being changed by many at once: try again"
        )

    def _count(self, key: str) -> None:
        for _ in range(_CAS_TRIES):
            record = self.store.get(key)
            try:
                if record is None:
                    self.store.create(key, 1, ttl=60)
                else:
                    self.store.update(key, record.value + 1, record.version)
                return
            except (Conflict, Missing):
                continue


def _cell(value: Any) -> Any:
    """A CSV cell a spreadsheet will not run: text starting =, +, - or @ is a formula there
    (a plain number such as an option "-4" is left as it is)."""
    if not isinstance(value, str) or value[:1] not in ("=", "+", "-", "@", "\t", "\r"):
        return value
    try:
        float(value)
        return value
    except ValueError:
        return "'" + value
