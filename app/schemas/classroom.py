"""Request and response schemas of the live class API: start, join, push, answer, reveal, names and end."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt

FiniteNumber = Annotated[float, Field(allow_inf_nan=False)]
# Hard ceilings on what is parsed at all; the configured limits (BPC_CLASS_*) are checked after,
# so their answers name the setting.
_TEXT = 20_000


class StartRequest(BaseModel):
    """A teacher starts a class."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{}, {"capacity": 30, "show_names": True}]}
    )

    capacity: StrictInt | None = Field(
        None, ge=1, description="Students at most (default and ceiling: BPC_CLASS_CAPACITY)."
    )
    show_names: bool = Field(
        False, description="Whether the teacher's tally names who gave each answer."
    )


class StartResponse(BaseModel):
    """The class: its code for the students, its token for the teacher alone."""

    class_id: str = Field(description="The class's id, in every address under it.")
    code: str = Field(description="The join code students type (8 characters).")
    teacher_token: str = Field(
        description="The teacher's secret: `Authorization: Bearer <it>` on every teacher "
        "action. Only this answer holds it; never show it to the room."
    )
    capacity: int = Field(description="Students at most.")
    ends_at: float = Field(description="When the class ends by itself (Unix seconds).")
    show_names: bool = Field(description="Whether the tally names the students.")


class JoinRequest(BaseModel):
    """A student joins with the code and, if they like, a display name."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"code": "KT53U7Q8", "name": "Ada"}]}
    )

    code: str = Field(max_length=64, description="The join code (case, spaces, dashes ignored).")
    name: str | None = Field(
        None, max_length=_TEXT, description="Shown to the teacher if names are on; plain text."
    )


class JoinResponse(BaseModel):
    """The student's seat and token."""

    class_id: str = Field(description="The class's id.")
    student_token: str = Field(
        description="`Authorization: Bearer <it>` to answer and to read the events."
    )
    seat: int = Field(description="The student's place in the join order, from 0.")
    name: str = Field(description="The display name as kept (trimmed, control characters out).")


class QuestionIn(BaseModel):
    """A question pushed with a view. `answer` (the key) is never sent to students."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[A-Za-z0-9_.:-]{1,64}$", description="The question's id.")
    kind: Literal["choice", "number", "text"] = Field(
        description="choice: pick an option by index; number: type a value; text: free text "
        "(counted, not marked)."
    )
    prompt: str = Field(max_length=_TEXT, description="The question, plain text.")
    options: list[Annotated[str, Field(max_length=_TEXT)]] | None = Field(
        None, max_length=100, description="choice: the options, by 0-based index."
    )
    answer: FiniteNumber | None = Field(
        None, description="The key: choice, the right option's index; number, the value."
    )
    tolerance: FiniteNumber | None = Field(
        None, ge=0, description="number: how far from the key still counts as right."
    )


class QuestionOut(BaseModel):
    """A question as students see it."""

    id: str = Field(description="The question's id: an answer names it.")
    kind: Literal["choice", "number", "text"] = Field(description="How it is answered.")
    prompt: str = Field(description="The question, plain text.")
    options: list[str] | None = Field(None, description="choice: the options, by index.")


class PushRequest(BaseModel):
    """The view every student's page follows."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "link": "/#e=x*y&in=x:3,y:-4",
                    "question": {
                        "id": "q1",
                        "kind": "choice",
                        "prompt": "What gradient does x receive?",
                        "options": ["-4", "3", "1"],
                        "answer": 0,
                    },
                }
            ]
        },
    )

    link: str = Field(
        max_length=_TEXT,
        description="A page of this site, relative: /#e=..., /landscape#..., /lessons/<id>.",
        examples=["/#e=x*y&in=x:3,y:-4"],
    )
    question: QuestionIn | None = Field(None, description="A question students answer now.")


class View(BaseModel):
    """A pushed view as students get it."""

    link: str = Field(description="The page every student's page follows.")
    question: QuestionOut | None = Field(None, description="The question asked now, if any.")


class PushResponse(BaseModel):
    """The event's id (its offset in the class's stream) and the view sent."""

    event: int = Field(description="The event's id, as in the events' `id:` lines.")
    view: View = Field(description="The view as students get it (no answer key).")


class AnswerRequest(BaseModel):
    """A student's answer to the question asked now; a later one replaces it."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"question": "q1", "answer": 0}]}
    )

    question: str = Field(max_length=64, description="The question's id.")
    answer: StrictInt | FiniteNumber | Annotated[str, Field(max_length=_TEXT)] = Field(
        description="choice: the option's index; number: the value; text: the text."
    )


class AnswerResponse(BaseModel):
    """The answer was kept."""

    event: int = Field(description="The answer's offset in the class's stream.")
    question: str = Field(description="The question answered.")


class RevealRequest(BaseModel):
    """What every student is shown of the asked question."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"rule": "multiply swaps: x receives y's value"}]},
    )

    rule: str | None = Field(
        None, max_length=_TEXT, description="The rule the question shows, plain text."
    )
    answer: StrictInt | FiniteNumber | Annotated[str, Field(max_length=_TEXT)] | None = Field(
        None, description="The answer to show; default the question's key."
    )


class RevealResponse(BaseModel):
    """The reveal sent."""

    event: int = Field(description="The reveal's offset in the class's stream.")
    question: str = Field(description="The question revealed.")
    answer: int | float | str | None = Field(
        description="The answer shown (None: the question has no key and none was given)."
    )
    rule: str = Field(description="The rule shown with it (may be empty).")


class NamesRequest(BaseModel):
    """Names in the teacher's tally, on or off."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"show": True}]})

    show: bool = Field(description="true: the tally lists names under each answer.")


class EventResponse(BaseModel):
    """The event sent."""

    event: int = Field(description="The event's offset in the class's stream.")


class EndResponse(BaseModel):
    """The class is over and deleted."""

    ended: Literal[True] = Field(True, description="Always true.")
