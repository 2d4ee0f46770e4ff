"""/api/v1/classes: a teacher starts a class and leads it; students join, follow and answer (issue 15).

The routes only read the request and the token, run the action (app/classroom/service.py, on a
thread: the store blocks) and shape the answer. Teacher actions take the teacher token, student
ones the student's, as `Authorization: Bearer <token>`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from functools import partial
from typing import Annotated, Any, TypeVar

import anyio
from fastapi import APIRouter, Depends, Header, Path, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.types import Receive, Scope, Send

from app.api.errors import error_body
from app.api.live import STORE_ERRORS, LiveDep
from app.classroom.feed import Reader, TeacherReader, members_reader
from app.classroom.rules import ClassProblem
from app.classroom.service import JoinsThrottled
from app.schemas.classroom import (
    AnswerRequest,
    AnswerResponse,
    EndResponse,
    EventResponse,
    JoinRequest,
    JoinResponse,
    NamesRequest,
    PushRequest,
    PushResponse,
    RevealRequest,
    RevealResponse,
    StartRequest,
    StartResponse,
)

router = APIRouter(prefix="/api/v1", tags=["classes"])
T = TypeVar("T")

_bearer = HTTPBearer(
    auto_error=False,
    description="The teacher token (from starting the class) or a student token (from joining).",
)


async def _token(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str:
    if credentials is None or not credentials.credentials:
        raise ClassProblem(
            401, "not_authorized", ("header", "Authorization"),
            "this needs the class's token: Authorization: Bearer <token>",
        )  # fmt: skip
    return credentials.credentials


Token = Annotated[str, Depends(_token)]
ClassId = Annotated[
    str,
    Path(
        pattern=r"^[A-Za-z0-9_-]{16}$",
        description="The class's id (from starting it).",
        examples=["fE8iRCVehmsWOWNe"],
    ),
]


def _answers(description: str, *statuses: int) -> dict[int | str, dict[str, Any]]:
    """Error answers an operation can give beyond those every one documents (error_docs.py)."""
    schema = {"$ref": "#/components/schemas/ErrorResponse"}
    words = {
        401: "No token: Authorization: Bearer <token>.",
        403: "The token is not this class's teacher's (or a student's of it).",
        404: "No class with this id or code (it may have ended).",
        409: description,
        429: "Too many wrong join codes from this address this minute: see Retry-After.",
    }
    answers: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        content = {"application/json": {"schema": schema}}
        answers[status] = {"description": words[status], "content": content}
        if status == 429:
            wait = {
                "description": "Seconds to wait before retrying.",
                "schema": {"type": "integer"},
            }
            answers[status]["headers"] = {"Retry-After": wait}
    return answers


async def _run(action: Callable[..., T], *args: Any) -> T:
    """A class action on a thread; a store that cannot answer is a 503, not a 500."""
    try:
        return await anyio.to_thread.run_sync(partial(action, *args))
    except STORE_ERRORS:
        raise ClassProblem(
            503, "server_busy", ("request",), "the class store is not answering: try again"
        ) from None


def _refusal(problem: ClassProblem, retry_after: int) -> JSONResponse:
    detail = {**problem.problems[0].as_detail(), "retry_after": retry_after}
    return JSONResponse(
        error_body(problem.status, [detail]),
        status_code=problem.status,
        headers={"Retry-After": str(retry_after)},
    )


@router.post(
    "/classes",
    operation_id="startClass",
    response_model=StartResponse,
    summary="Start a class",
)
async def start_class(body: StartRequest, live: LiveDep) -> dict[str, Any]:
    """A new class: its join code for the room and the teacher token for the teacher alone.
    It ends when the teacher ends it, or by itself after BPC_CLASS_TTL_S."""
    return await _run(live.classroom.start, body.capacity, body.show_names)


@router.post(
    "/classes/join",
    operation_id="joinClass",
    response_model=JoinResponse,
    summary="Join a class by its code",
    responses=_answers("The class is full (its capacity).", 404, 409, 429),
)
async def join_class(body: JoinRequest, request: Request, live: LiveDep) -> Any:
    """A seat in the class and the student's token. Wrong codes from one address are limited
    to BPC_CLASS_JOIN_FAILURES_PER_MINUTE a minute."""
    client = request.client.host if request.client else "unknown"
    try:
        return await _run(live.classroom.join, body.code, body.name, client)
    except JoinsThrottled as refused:
        return _refusal(refused, refused.retry_after)


@router.post(
    "/classes/{class_id}/push",
    operation_id="pushView",
    response_model=PushResponse,
    summary="Send every student a view (teacher)",
    responses=_answers("", 401, 403, 404),
)
async def push_view(
    class_id: ClassId, body: PushRequest, token: Token, live: LiveDep
) -> dict[str, Any]:
    """Every student's page follows this view; its question, if any, is the one they may
    answer now (its key stays with the teacher)."""
    asked = None
    if body.question is not None:
        q = body.question
        asked = {"qid": q.id, "kind": q.kind, "prompt": q.prompt, "options": q.options,
                 "key": q.answer, "tolerance": q.tolerance}  # fmt: skip
    event, view = await _run(live.classroom.push, class_id, token, body.link, asked)
    return {"event": event, "view": view}


@router.post(
    "/classes/{class_id}/answer",
    operation_id="answerQuestion",
    response_model=AnswerResponse,
    summary="Answer the question asked now (student)",
    responses=_answers("No question is asked now, or another one is.", 401, 403, 404, 409),
)
async def answer_question(
    class_id: ClassId, body: AnswerRequest, token: Token, live: LiveDep
) -> dict[str, Any]:
    """The student's answer (theirs alone: the token says whose); a later one replaces it."""
    event = await _run(live.classroom.answer, class_id, token, body.question, body.answer)
    return {"event": event, "question": body.question}


@router.post(
    "/classes/{class_id}/reveal",
    operation_id="revealAnswer",
    response_model=RevealResponse,
    summary="Show everyone the answer and the rule (teacher)",
    responses=_answers("No question is asked now.", 401, 403, 404, 409),
)
async def reveal_answer(
    class_id: ClassId, body: RevealRequest, token: Token, live: LiveDep
) -> dict[str, Any]:
    """Sends every student the asked question's answer (its key unless given here) and the
    rule it shows."""
    event, shown = await _run(live.classroom.reveal, class_id, token, body.rule, body.answer)
    return {"event": event, **shown}


@router.post(
    "/classes/{class_id}/names",
    operation_id="showNames",
    response_model=EventResponse,
    summary="Names in the teacher's tally, on or off (teacher)",
    responses=_answers("", 401, 403, 404),
)
async def show_names(
    class_id: ClassId, body: NamesRequest, token: Token, live: LiveDep
) -> dict[str, Any]:
    """Whether the tally on the teacher's events names who gave each answer."""
    return {"event": await _run(live.classroom.show_names, class_id, token, body.show)}


@router.get(
    "/classes/{class_id}/answers.csv",
    operation_id="classAnswers",
    response_class=Response,
    summary="Every answer as CSV (teacher)",
    responses={
        200: {"content": {"text/csv": {"schema": {"type": "string"}}}},
        **_answers("", 401, 403, 404),
    },
)
async def class_answers(class_id: ClassId, token: Token, live: LiveDep) -> Response:
    """One row per student and question: their last answer (and the option's text)."""
    text = await _run(live.classroom.answers_csv, class_id, token)
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="class-{class_id}.csv"'},
    )


@router.post(
    "/classes/{class_id}/end",
    operation_id="endClass",
    response_model=EndResponse,
    summary="End the class and delete it (teacher)",
    responses=_answers("", 401, 403, 404),
)
async def end_class(class_id: ClassId, token: Token, live: LiveDep) -> dict[str, Any]:
    """Every reader gets `end`; the class, its answers and its code are deleted."""
    await _run(live.classroom.end, class_id, token)
    return {"ended": True}


@router.get(
    "/classes/{class_id}/events",
    operation_id="classEvents",
    response_class=StreamingResponse,
    summary="The class's live events (Server-Sent Events)",
    responses={
        200: {"content": {"text/event-stream": {"schema": {"type": "string"}}}},
        **_answers("", 401, 403, 404),
    },
)
async def class_events(
    class_id: ClassId,
    token: Token,
    live: LiveDep,
    last_event_id: Annotated[
        str | None,
        Header(
            alias="Last-Event-ID",
            max_length=12,
            pattern=r"^[0-9]+$",
            description="Resume just after this event (its `id:`), as a reconnect sends it.",
        ),
    ] = None,
) -> Response:
    """text/event-stream. A student gets `view`, `reveal` and `end`; the teacher also `names`,
    `tally` (how many answered the asked question, the counts, the share correct) and `joined`
    (`{"joined": n}`, the seats taken so far: sent on connecting and when it changes, with no
    `id:`). Each `id:` is the event's offset in the class's stream: a reader that reconnects with
    Last-Event-ID misses nothing. At most BPC_CLASS_STREAMS_PER_WORKER per worker process."""
    seat = await _run(live.classroom.reader, class_id, token)
    feeds = live.feeds
    if not feeds.reserve():
        refused = ClassProblem(
            503, "server_busy", ("request",),
            f"this server process has {feeds.streams} event streams open, the most it keeps "
            "(setting BPC_CLASS_STREAMS_PER_WORKER)",
        )  # fmt: skip
        refused.problems[0].extra["setting"] = "class_streams_per_worker"
        return _refusal(refused, 5)
    store = live.classroom.store
    reader = Reader() if seat is not None else TeacherReader(members_reader(store, class_id))
    after = None if last_event_id is None else int(last_event_id)

    async def stream() -> AsyncIterator[str]:
        async with feeds.follow(class_id, seats=seat is None) as feed:
            async for text in feeds.events(feed, reader, after):
                yield text

    return _EventStream(
        stream(),
        feeds.release,
        media_type="text/event-stream",
        # X-Accel-Buffering: nginx passes each event on at once instead of buffering them
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


class _EventStream(StreamingResponse):
    """Gives the worker's event stream back when the answer ends, however it ends (the reader
    left, the class ended, or the client went away before the first event)."""

    def __init__(self, content: AsyncIterator[str], release: Callable[[], None], **kw: Any):
        super().__init__(content, **kw)
        self._release = release

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._release()
