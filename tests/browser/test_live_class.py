"""The live class in Chromium: a teacher and three students, each in their own browser context, through push, answers, live counts, names, reveal, follow and the CSV."""

from __future__ import annotations

import contextlib
import csv
import io
import re
import socket
import threading
from contextlib import ExitStack
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, Page, Route, expect

from tests.browser.conftest import screenshot, watched_page
from tests.browser.test_circuit_page import view_hash

pytestmark = pytest.mark.browser

PAYLOAD = "<img src=x onerror=alert(1)>"
STUDENTS = ("Ada", PAYLOAD, "Grace")
# (x + y) * z at x = -2, y = 5, z = -4: q = x + y = 3, f = q z = -12. df/dq = z = -4 and add
# passes it on unchanged, so df/dx = -4 (the key). Ada and the payload answer -4, Grace 3.
CIRCUIT = "/" + view_hash("(x + y) * z", {"x": -2, "y": 5, "z": -4})
ANSWERS = {"Ada": -4, PAYLOAD: -4, "Grace": 3}
RULE = "add passes the gradient on: x receives dq = z"


def _join(student: Page, code: str, name: str) -> None:
    student.goto("/join")
    student.fill("#join-code-input", code.lower())  # case does not matter to the code
    student.fill("#join-name", name)
    student.click("#join")
    expect(student.locator("#join-status")).to_have_text("Connected")


def test_a_teacher_and_three_students_run_a_question_through_reveal(
    browser: Browser, live_server: str
) -> None:
    with ExitStack() as stack:
        teacher = stack.enter_context(watched_page(browser, live_server))
        students = [stack.enter_context(watched_page(browser, live_server)) for _ in STUDENTS]
        dialogs: list[str] = []
        for page in (teacher, *students):
            page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))

        teacher.goto("/class")
        teacher.click("#start-class")
        code_text = teacher.locator("#join-code")
        expect(code_text).to_have_text(re.compile(r"^[A-Z2-9]{8}$"))
        code = code_text.inner_text()
        token = teacher.evaluate(
            "JSON.parse(sessionStorage.getItem('bpc-class-teacher')).teacher_token"
        )
        assert len(token) >= 40 and token not in teacher.url
        assert teacher.locator(f"a[href*='{token[:12]}']").count() == 0
        expect(teacher.locator("#joined")).to_have_text("0 joined")

        for student, name in zip(students, STUDENTS, strict=True):
            _join(student, code, name)
        # the seats taken, as the teacher's events count them
        expect(teacher.locator("#joined")).to_have_text(f"{len(STUDENTS)} joined")

        teacher.fill("#push-link", CIRCUIT)
        teacher.select_option("#q-kind", "number")
        teacher.fill("#q-prompt", "What is df/dx?")
        teacher.fill("#q-key", "-4")
        teacher.click("#push")
        expect(teacher.locator("#asked")).to_have_text("Asked: What is df/dx?")

        for student in students:
            frame = student.frame_locator("#class-view")
            expect(frame.get_by_label("z", exact=True)).to_have_value("-4")
            expect(frame.locator("#circuit .value", has_text="-12").first).to_be_visible()
            expect(student.locator("#question-prompt")).to_have_text("What is df/dx?")
            # the teacher's secret reaches no student's page, not even inside the frame's link
            assert token not in student.content()
            assert token not in student.locator("#class-view").get_attribute("src")

        for student, name in zip(students, STUDENTS, strict=True):
            student.fill("#answer-input", str(ANSWERS[name]))
            student.click("#send-answer")
            expect(student.locator("#answer-sent")).to_contain_text("Answer sent")

        # 3 answered of the 3 joined; -4 twice and 3 once; 2 of the 3 are the key: 2/3 = 67 %
        answered = len(ANSWERS)
        right = sum(1 for given in ANSWERS.values() if given == -4)
        expect(teacher.locator("#answered")).to_have_text(f"{answered} of {len(STUDENTS)} answered")
        expect(teacher.locator("#correct")).to_have_text(
            f"{right} of {answered} correct ({round(100 * right / answered)}%)"
        )
        rows = teacher.locator("#histogram li")
        expect(rows).to_have_count(2)
        expect(rows.nth(0)).to_have_attribute("data-answer", "-4")
        expect(rows.nth(0)).to_have_attribute("data-count", "2")
        expect(rows.nth(1)).to_have_attribute("data-answer", "3")
        expect(rows.nth(1)).to_have_attribute("data-count", "1")
        expect(teacher.locator(".bar-names")).to_have_count(0)  # names hidden by default

        teacher.check("#show-names")
        # each answer's names in code-point order: "<" (0x3C) before "A" (0x41)
        expect(rows.nth(0).locator(".bar-names")).to_have_text(f"{PAYLOAD}, Ada")
        expect(rows.nth(1).locator(".bar-names")).to_have_text("Grace")
        expect(teacher.locator("#histogram img")).to_have_count(0)  # the name stayed text

        teacher.fill("#reveal-rule", RULE)
        teacher.click("#reveal")
        for student in students:
            expect(student.locator("#reveal")).to_have_text(f"Answer: -4 — {RULE}")
        screenshot(teacher, "live-class-teacher")
        screenshot(students[0], "live-class-student")

        with teacher.expect_download() as download:
            teacher.click("#download-csv")
        table = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text())))
        assert [(r["seat"], r["name"], float(r["answer"])) for r in table] == [
            ("0", "Ada", -4.0), ("1", PAYLOAD, -4.0), ("2", "Grace", 3.0)
        ]  # fmt: skip
        assert {r["prompt"] for r in table} == {"What is df/dx?"}

        # follow off: the student stays where they are while the teacher moves on; on again,
        # the frame goes to the teacher's view
        explorer, follower = students[0], students[1]
        explorer.uncheck("#follow")
        teacher.select_option("#q-kind", "")
        teacher.fill("#push-link", "/" + view_hash("x * y", {"x": 3, "y": -4}))
        teacher.click("#push")
        expect(follower.frame_locator("#class-view").get_by_label("y", exact=True)).to_have_value(
            "-4"
        )
        expect(follower.locator("#question")).to_be_hidden()
        expect(explorer.locator("#question")).to_be_hidden()  # the new view reached them too
        expect(explorer.frame_locator("#class-view").get_by_label("z", exact=True)).to_have_value(
            "-4"
        )
        explorer.check("#follow")
        expect(explorer.frame_locator("#class-view").get_by_label("y", exact=True)).to_have_value(
            "-4"
        )

        teacher.click("#end-class")
        for student in students:
            expect(student.locator("#join-error")).to_have_text("The class has ended.")
        assert dialogs == []
        assert all(p.evaluate("window.__xss") is None for p in (teacher, *students))


class CuttableProxy:
    """A TCP relay to the server whose open connections the test can cut, as a dropped Wi-Fi
    does (Chromium's offline mode leaves an open stream alone)."""

    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.base = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.open: list[socket.socket] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return  # closed
            server = socket.create_connection(self.upstream)
            with self.lock:
                self.open += [client, server]
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        for end in (source, sink):
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        with self.lock:
            dropped, self.open = self.open, []
        for end in dropped:
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self.cut()
        self.listener.close()


def test_a_student_whose_connection_drops_reconnects_and_misses_nothing(
    browser: Browser, live_server: str
) -> None:
    # the teacher acts through the API here: this test is about the student's stream
    started = httpx.post(f"{live_server}/api/v1/classes", json={}).json()
    teacher = {"Authorization": f"Bearer {started['teacher_token']}"}
    classes = f"{live_server}/api/v1/classes/{started['class_id']}"
    proxy = CuttableProxy(live_server)
    try:
        with watched_page(browser, proxy.base) as student:
            asked: list[str | None] = []  # each events request's Last-Event-ID

            def resume_point(route: Route) -> None:
                asked.append(route.request.headers.get("last-event-id"))
                route.continue_()

            student.route("**/api/v1/classes/*/events", resume_point)
            _join(student, started["code"], "Ada")
            first = {"link": "/" + view_hash("x * y", {"x": 3, "y": -4})}
            assert httpx.post(f"{classes}/push", json=first, headers=teacher).status_code == 200
            frame = student.frame_locator("#class-view")
            expect(frame.get_by_label("y", exact=True)).to_have_value("-4")

            # the connection drops, and while the student is away the teacher moves on
            proxy.cut()
            question = {"id": "q1", "kind": "choice", "prompt": "Which input gets -4?",
                        "options": ["x", "y"], "answer": 0}  # fmt: skip
            second = {"link": "/" + view_hash("x * y", {"x": 3, "y": -5}), "question": question}
            assert httpx.post(f"{classes}/push", json=second, headers=teacher).status_code == 200
            assert httpx.post(f"{classes}/reveal", json={}, headers=teacher).status_code == 200

            # both events made meanwhile arrive: the view, then the reveal of its option 0
            expect(frame.get_by_label("y", exact=True)).to_have_value("-5")
            expect(student.locator("#question-prompt")).to_have_text("Which input gets -4?")
            expect(student.locator("#reveal")).to_have_text("Answer: x")
            expect(student.locator("#join-status")).to_have_text("Connected")
            # the class's stream: 0 the names setting (written at start), 1 the first push.
            # The first connection starts where the room is; the reconnect resumes after 1.
            assert asked[0] is None and len(asked) >= 2
            assert set(asked[1:]) == {"1"}, asked
            # the drop we made is the one console error this page may have (the stream cut)
            watch = student.watch  # type: ignore[attr-defined]
            cut = [e for e in watch.console_errors if "ERR_INCOMPLETE_CHUNKED_ENCODING" in e]
            assert len(cut) <= 1
            watch.console_errors = [e for e in watch.console_errors if e not in cut]
    finally:
        proxy.close()
        httpx.post(f"{classes}/end", headers=teacher)


def test_the_histogram_and_the_event_parser_without_a_class(page: Page) -> None:
    page.goto("/class")
    rows, parsed = page.evaluate(
        """async () => {
            const t = await import("/static/js/class/tally.js");
            const e = await import("/static/js/class/events.js");
            const tally = {answered: 6, correct: 4, share_correct: 4 / 6, counts: [
                {answer: 0.333333, count: 2, names: ["Bo", "Al"]},
                {answer: -4, count: 3, names: ["Cy", "Di", "Ed"]},
                {answer: 0.33333, count: 1, names: ["Ab"]}]};
            const rows = t.histogramRows(tally, {kind: "number"});
            const text = "retry: 1000\\n\\n: still here\\n\\nid: 7\\nevent: view\\n" +
                'data: {"link":"/"}\\n\\nid: 8\\nevent: rev';
            return [[rows, t.correctLine(tally)], e.parseEvents(text)];
        }"""
    )
    # 0.333333 and 0.33333 both read 0.3333 at 4 significant digits: one bar of 2 + 1 = 3,
    # tied with -4 at 3, so the labels' order decides ("-" before "0"); names merged, sorted
    assert rows[0] == [
        {"label": "-4", "count": 3, "names": ["Cy", "Di", "Ed"]},
        {"label": "0.3333", "count": 3, "names": ["Ab", "Al", "Bo"]},
    ]
    assert rows[1] == "4 of 6 correct (67%)"  # 4/6 = 0.667
    # the retry line and the heartbeat are no events; the unfinished one waits for its end
    assert parsed == {
        "events": [{"id": "7", "type": "view", "data": {"link": "/"}}],
        "rest": "id: 8\nevent: rev",
    }
