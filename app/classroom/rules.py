"""The live class's rules, with no store and no HTTP: codes and tokens, what a view, a question, a name and an answer may hold, and the tally of a question's answers.

Everything here is a plain function of its arguments, so each rule and each limit is tested
without a server. Text (names, prompts, answers) is kept as plain text: nothing here or in the
API turns it into markup, and the pages must set it as text (textContent), never as HTML.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from app.core.errors import LimitError, Problem, ProblemError
from app.core.limits import Limits

# Join codes: 8 characters from 31 that cannot be misread for each other when read off a
# projector (no I, L, O, 0 or 1): 31**8 = 8.5e11 codes, about 39.6 bits. Guessing is bounded
# by BPC_CLASS_JOIN_FAILURES_PER_MINUTE per address, not by the alphabet alone.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8
QUESTION_KINDS = ("choice", "number", "text")
TALLY_TOP = 20  # distinct number or text answers listed by count; the rest are counted as other


class ClassProblem(ProblemError):
    """A request the class cannot take; `status` says why (401, 403, 404, 409, 429)."""

    def __init__(self, status: int, type_: str, loc: tuple[str | int, ...], msg: str) -> None:
        super().__init__(Problem(msg, type=type_, loc=loc))
        self.status = status


# --- codes, ids and secrets ---------------------------------------------------------------


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normal_code(text: str) -> str:
    """What a student typed, as a code: case, spaces and dashes do not matter."""
    return "".join(ch for ch in text.upper() if ch not in " -\t")


def new_class_id() -> str:
    return secrets.token_urlsafe(12)  # 16 URL-safe characters, 96 bits


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def digest(secret: str) -> str:
    """What the store keeps of a token: its SHA-256, so a read of the store gives no token."""
    return hashlib.sha256(secret.encode("utf-8", "replace")).hexdigest()


def same_secret(secret: str, stored_digest: str) -> bool:
    return hmac.compare_digest(digest(secret), stored_digest)


def student_token(seat: int, secret: str) -> str:
    """A student's token names their seat (their place in the join order) and holds a secret
    whose digest sits at that seat: checking it is one read, and no token fits another seat."""
    return f"{seat}.{secret}"


def parse_student_token(token: str) -> tuple[int, str] | None:
    seat, _, secret = token.partition(".")
    if not seat.isdigit() or len(seat) > 9 or not secret:
        return None
    return int(seat), secret


# --- plain text ------------------------------------------------------------------------------


def plain_text(text: str, limit: int, setting: str, loc: tuple[str | int, ...]) -> str:
    """Text as it will be shown: trimmed, without control characters (a name cannot hold a
    newline or a bidi override that reorders the teacher's list), at most `limit` characters."""
    kept = "".join(
        ch for ch in text if unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co", "Cn")
    ).strip()
    if len(kept) > limit:
        raise LimitError("the text's length in characters", len(kept), limit, setting, loc, 422)
    return kept


def display_name(name: str | None, limits: Limits) -> str:
    if name is None:
        return ""
    return plain_text(name, limits.class_name_max_chars, "class_name_max_chars", ("body", "name"))


def capacity_of(asked: int | None, limits: Limits) -> int:
    if asked is None:
        return limits.class_capacity
    if asked > limits.class_capacity:
        raise LimitError(
            "the class's capacity", asked, limits.class_capacity, "class_capacity",
            ("body", "capacity"), 422,
        )  # fmt: skip
    return asked


# --- views and questions -------------------------------------------------------------------


def page_link(link: str, limits: Limits) -> str:
    """A pushed view's link: a page of this site, relative (/..., never //host or a scheme),
    so a teacher's push cannot send the room anywhere else."""
    loc = ("body", "link")
    if len(link) > limits.class_link_max_chars:
        raise LimitError(
            "the link's length in characters", len(link), limits.class_link_max_chars,
            "class_link_max_chars", loc, 422,
        )  # fmt: skip
    parts = urlsplit(link)
    bad = (
        not link.startswith("/")
        or link.startswith("//")
        or "\\" in link
        or any(ch.isspace() or unicodedata.category(ch) == "Cc" for ch in link)
        or parts.scheme
        or parts.netloc
    )
    if bad:
        raise ProblemError(
            Problem(
                "a page link is relative to this site: it starts with one / (such as "
                "/#e=x*y or /landscape#...), with no scheme, host, backslash or spaces",
                loc=loc,
            )
        )
    if parts.path.startswith("/api/") or parts.path == "/api":
        raise ProblemError(Problem("a page link names a page, not the API", loc=loc))
    return link


@dataclass(frozen=True)
class Question:
    """A pushed question; `key` (the right option's index or number) never reaches students."""

    id: str
    kind: str
    prompt: str
    options: list[str] = field(default_factory=list)
    key: float | None = None
    tolerance: float = 0.0

    def public(self) -> dict[str, Any]:
        shown: dict[str, Any] = {"id": self.id, "kind": self.kind, "prompt": self.prompt}
        if self.kind == "choice":
            shown["options"] = list(self.options)
        return shown

    def stored(self) -> dict[str, Any]:
        return {**self.public(), "options": list(self.options), "key": self.key,
                "tolerance": self.tolerance}  # fmt: skip

    @classmethod
    def from_stored(cls, data: dict[str, Any]) -> Question:
        return cls(
            data["id"], data["kind"], data["prompt"], list(data.get("options") or []),
            data.get("key"), float(data.get("tolerance") or 0.0),
        )  # fmt: skip

    def is_correct(self, answer: Any) -> bool | None:
        """None when the question has no key (an opinion, a free text)."""
        if self.key is None:
            return None
        if self.kind == "choice":
            return bool(answer == self.key)
        if self.kind == "number":
            return bool(abs(float(answer) - self.key) <= self.tolerance)
        return None


def question(
    qid: str,
    kind: str,
    prompt: str,
    options: list[str] | None,
    key: float | None,
    tolerance: float | None,
    limits: Limits,
) -> Question:
    """A teacher's question, checked: its texts' sizes, a choice's options, a key that fits."""
    loc: tuple[str | int, ...] = ("body", "question")
    text_limit, setting = limits.class_text_max_chars, "class_text_max_chars"
    prompt = plain_text(prompt, text_limit, setting, (*loc, "prompt"))
    if kind == "choice":
        if not options or len(options) < 2:
            raise ProblemError(Problem("a choice question has at least 2 options", loc=loc))
        if len(options) > limits.class_options_max:
            raise LimitError(
                "the number of options", len(options), limits.class_options_max,
                "class_options_max", (*loc, "options"), 422,
            )  # fmt: skip
        options = [
            plain_text(o, text_limit, setting, (*loc, "options", i)) for i, o in enumerate(options)
        ]
        if key is not None and (key != int(key) or not 0 <= key < len(options)):
            raise ProblemError(
                Problem(
                    f"a choice question's answer is an option's 0-based index, 0 to "
                    f"{len(options) - 1}, got {key}",
                    loc=(*loc, "answer"),
                )
            )
        key = None if key is None else int(key)
    elif options:
        raise ProblemError(Problem(f"a {kind} question has no options", loc=(*loc, "options")))
    if kind == "text" and key is not None:
        raise ProblemError(
            Problem("a text question has no answer key: it is counted, not marked", loc=loc)
        )
    if tolerance is not None and kind != "number":
        raise ProblemError(Problem("only a number question has a tolerance", loc=loc))
    return Question(qid, kind, prompt, options or [], key, tolerance or 0.0)


def answer_for(q: Question, answer: float | str, limits: Limits) -> float | int | str:
    """A student's answer to `q` as it is kept: an option's index, a finite number, or text."""
    loc = ("body", "answer")
    if q.kind == "text":
        if not isinstance(answer, str):
            raise ProblemError(Problem("this question's answer is text", loc=loc))
        text = plain_text(answer, limits.class_answer_max_chars, "class_answer_max_chars", loc)
        if not text:
            raise ProblemError(Problem("the answer is empty", loc=loc))
        return text
    if isinstance(answer, str | bool) or not math.isfinite(answer):
        raise ProblemError(Problem(f"this {q.kind} question's answer is a number", loc=loc))
    if q.kind == "choice":
        if answer != int(answer) or not 0 <= answer < len(q.options):
            raise ProblemError(
                Problem(
                    f"the answer is an option's 0-based index, 0 to {len(q.options) - 1}",
                    loc=loc,
                )
            )
        return int(answer)
    return float(answer)


# --- the tally --------------------------------------------------------------------------------


def tally(q: Question, answers: dict[int, Any], names: dict[int, str] | None) -> dict[str, Any]:
    """What the teacher sees of a question: how many answered, how many chose each option (or
    gave each number or text, the most frequent first), and the share correct when it has a
    key. `answers` holds each seat's latest answer; `names` (seat -> name) only when the
    teacher has turned names on."""
    counts: Counter[Any] = Counter(answers.values())
    if q.kind == "choice":
        order: list[Any] = list(range(len(q.options)))
        other = 0
    else:
        ranked = sorted(counts, key=lambda a: (-counts[a], str(a)))
        order, rest = ranked[:TALLY_TOP], ranked[TALLY_TOP:]
        other = sum(counts[a] for a in rest)
    rows = []
    for value in order:
        row: dict[str, Any] = {"answer": value, "count": counts.get(value, 0)}
        if names is not None:
            row["names"] = sorted(names.get(seat, "") for seat, a in answers.items() if a == value)
        rows.append(row)
    verdicts = [q.is_correct(a) for a in answers.values()]
    correct = None if q.key is None else sum(1 for v in verdicts if v)
    return {
        "question": q.id,
        "answered": len(answers),
        "counts": rows,
        "other": other,
        "correct": correct,
        "share_correct": None if correct is None or not answers else correct / len(answers),
    }
