"""The live class in the Compose shape: two app replicas sharing one real Redis behind deploy/nginx.conf, events streamed through nginx unbuffered to readers on both replicas."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack

import pytest

from tests.live_app import running_app
from tests.redis_server import redis_url
from tests.test_class_live import ENV, UP_S, EventReader, _post, _question
from tests.test_deploy_nginx import running_nginx

__all__ = ["redis_url"]  # a fixture, imported so pytest finds it here


@pytest.fixture(scope="module")
def balanced(redis_url: str) -> Iterator[str]:
    with ExitStack() as stack:
        replicas = [
            stack.enter_context(
                running_app(
                    {**ENV, "BPC_STORE": redis_url, "BPC_INSTANCE_ID": name}, up_timeout=UP_S
                )
            )
            for name in ("app-a", "app-b")
        ]
        yield stack.enter_context(running_nginx(replicas))


def test_a_push_through_nginx_reaches_students_on_both_replicas(balanced: str) -> None:
    started = _post(balanced, "", body={})
    class_id, teacher = started["class_id"], started["teacher_token"]
    readers: list[EventReader] = []
    try:
        # joined first, then read: nginx takes turns, so consecutive streams alternate replicas
        # (a join between each would take every other turn)
        students = [
            _post(balanced, "/join", body={"code": started["code"]})["student_token"]
            for _ in range(6)
        ]
        for student in students:
            readers.append(EventReader(balanced, class_id, student))
            if {r.instance for r in readers} == {"app-a", "app-b"}:
                break
        assert {r.instance for r in readers} == {"app-a", "app-b"}
        view = {"link": "/#e=x*y", "question": _question("q1")}
        pushed = _post(balanced, f"/{class_id}/push", teacher, view)
        for reader in readers:
            event = reader.next()  # arrives while the stream stays open: nginx does not buffer
            assert (event.id, event.event, event.data) == (pushed["event"], "view", pushed["view"])
    finally:
        for reader in readers:
            reader.close()
