"""The live class's rules without a store or a server: codes, tokens, text, links, questions, answers and the tally."""

from __future__ import annotations

import math

import pytest

from app.classroom import rules
from app.classroom.rules import Question, tally
from app.core.errors import LimitError, ProblemError
from app.core.limits import Limits

LIMITS = Limits()


def test_a_join_code_is_8_unambiguous_characters_with_about_40_bits() -> None:
    assert len(rules.CODE_ALPHABET) == len(set(rules.CODE_ALPHABET)) == 31
    assert not set("ILO01") & set(rules.CODE_ALPHABET)
    # 31 ** 8 = 852,891,037,441 codes: log2 of it is 39.6 bits
    assert 31**8 == 852_891_037_441
    assert math.log2(31**8) == pytest.approx(39.63, abs=0.01)
    codes = {rules.new_code() for _ in range(200)}
    assert all(len(c) == 8 and set(c) <= set(rules.CODE_ALPHABET) for c in codes)
    assert len(codes) == 200  # 200 draws from 8.5e11 do not repeat (p ~ 2e-8)


def test_what_a_student_types_is_read_as_a_code() -> None:
    assert rules.normal_code(" kt53-u7q8 ") == "KT53U7Q8"
    assert rules.normal_code("KT53 U7Q8") == "KT53U7Q8"


def test_a_token_is_checked_against_its_digest_only() -> None:
    secret = rules.new_secret()
    stored = rules.digest(secret)
    assert stored != secret and len(stored) == 64  # SHA-256 in hex
    assert rules.same_secret(secret, stored)
    assert not rules.same_secret(secret + "x", stored)


def test_a_student_token_names_its_seat() -> None:
    assert rules.student_token(7, "abc") == "7.abc"
    assert rules.parse_student_token("7.abc") == (7, "abc")
    for bad in ("abc", ".abc", "7.", "-1.abc", "x.abc", "1234567890.abc"):
        assert rules.parse_student_token(bad) is None, bad


def test_plain_text_is_trimmed_without_control_characters_and_limited() -> None:
    # a newline, a right-to-left override and a zero-width space are dropped; spaces kept
    assert rules.plain_text(" Ada\n Love\u202elace\u200b ", 40, "class_name_max_chars", ()) == (
        "Ada Lovelace"
    )
    assert rules.plain_text("<b>x</b>", 40, "s", ()) == "<b>x</b>"  # text stays text


def test_a_name_of_the_limit_is_kept_and_one_more_is_refused() -> None:
    n = LIMITS.class_name_max_chars
    assert rules.display_name("a" * n, LIMITS) == "a" * n
    with pytest.raises(LimitError) as refused:
        rules.display_name("a" * (n + 1), LIMITS)
    problem = refused.value.problems[0]
    assert refused.value.status == 422
    assert problem.extra == {"limit": n, "got": n + 1, "setting": "class_name_max_chars"}
    assert problem.loc == ("body", "name")
    assert rules.display_name(None, LIMITS) == ""


def test_capacity_is_the_setting_unless_the_teacher_asks_for_at_most_it() -> None:
    limits = LIMITS.but(class_capacity=30)
    assert rules.capacity_of(None, limits) == 30
    assert rules.capacity_of(30, limits) == 30
    with pytest.raises(LimitError) as refused:
        rules.capacity_of(31, limits)
    assert refused.value.problems[0].extra["setting"] == "class_capacity"


@pytest.mark.parametrize(
    "link", ["/", "/#e=x*y&in=x:3,y:-4", "/landscape#dims=2", "/lessons/intuitions-simple"]
)
def test_a_relative_page_link_is_pushed(link: str) -> None:
    assert rules.page_link(link, LIMITS) == link


@pytest.mark.parametrize(
    "link",
    [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example",
        "javascript:alert(1)",
        "landscape",
        "/ landscape",
        "/api/v1/classes",
        "/api",
        "/x\x00",
    ],
)
def test_any_other_link_is_refused(link: str) -> None:
    with pytest.raises(ProblemError) as refused:
        rules.page_link(link, LIMITS)
    assert refused.value.problems[0].loc == ("body", "link")


def test_a_link_of_the_limit_is_pushed_and_one_more_is_refused() -> None:
    limits = LIMITS.but(class_link_max_chars=10)
    assert rules.page_link("/" + "a" * 9, limits) == "/" + "a" * 9
    with pytest.raises(LimitError) as refused:
        rules.page_link("/" + "a" * 10, limits)
    assert refused.value.problems[0].extra["setting"] == "class_link_max_chars"


def _choice(options: list[str], key: float | None = None, limits: Limits = LIMITS) -> Question:
    return rules.question("q1", "choice", "Which?", options, key, None, limits)


def test_a_choice_question_has_2_to_the_limit_of_options_and_a_key_among_them() -> None:
    limits = LIMITS.but(class_options_max=3)
    assert _choice(["a", "b", "c"], 2, limits).key == 2
    with pytest.raises(LimitError) as refused:
        _choice(["a", "b", "c", "d"], None, limits)
    assert refused.value.problems[0].extra == {
        "limit": 3,
        "got": 4,
        "setting": "class_options_max",
    }
    with pytest.raises(ProblemError):
        _choice(["only"])
    for bad_key in (3, -1, 0.5):
        with pytest.raises(ProblemError):
            _choice(["a", "b", "c"], bad_key)


def test_a_question_keeps_its_key_from_students() -> None:
    q = _choice(["-4", "3"], 0)
    assert q.public() == {"id": "q1", "kind": "choice", "prompt": "Which?", "options": ["-4", "3"]}
    assert Question.from_stored(q.stored()) == q


def test_only_the_right_kinds_take_options_keys_and_tolerances() -> None:
    with pytest.raises(ProblemError):
        rules.question("q", "number", "?", ["a", "b"], None, None, LIMITS)
    with pytest.raises(ProblemError):
        rules.question("q", "text", "?", None, 1.0, None, LIMITS)
    with pytest.raises(ProblemError):
        rules.question("q", "choice", "?", ["a", "b"], 0, 0.5, LIMITS)


def test_a_prompt_of_the_limit_is_asked_and_one_more_is_refused() -> None:
    limits = LIMITS.but(class_text_max_chars=5)
    assert rules.question("q", "text", "12345", None, None, None, limits).prompt == "12345"
    with pytest.raises(LimitError) as refused:
        rules.question("q", "text", "123456", None, None, None, limits)
    assert refused.value.problems[0].loc == ("body", "question", "prompt")


def test_answers_fit_their_question() -> None:
    choice = _choice(["a", "b", "c"])
    assert rules.answer_for(choice, 2, LIMITS) == 2
    assert rules.answer_for(choice, 2.0, LIMITS) == 2
    for bad in (3, -1, 1.5, "b", math.inf, True):
        with pytest.raises(ProblemError):
            rules.answer_for(choice, bad, LIMITS)
    number = rules.question("n", "number", "x?", None, -4.0, 0.5, LIMITS)
    assert rules.answer_for(number, -3.75, LIMITS) == -3.75
    for bad in ("-4", math.nan):
        with pytest.raises(ProblemError):
            rules.answer_for(number, bad, LIMITS)
    text = rules.question("t", "text", "why?", None, None, None, LIMITS)
    assert rules.answer_for(text, "  it swaps\n", LIMITS) == "it swaps"
    with pytest.raises(ProblemError):
        rules.answer_for(text, "\n ", LIMITS)
    with pytest.raises(ProblemError):
        rules.answer_for(text, 3, LIMITS)


def test_a_text_answer_of_the_limit_is_kept_and_one_more_is_refused() -> None:
    text = rules.question("t", "text", "why?", None, None, None, LIMITS)
    n = LIMITS.class_answer_max_chars
    assert rules.answer_for(text, "a" * n, LIMITS) == "a" * n
    with pytest.raises(LimitError) as refused:
        rules.answer_for(text, "a" * (n + 1), LIMITS)
    assert refused.value.problems[0].extra["setting"] == "class_answer_max_chars"


def test_the_tally_of_a_choice_counts_every_option_and_the_share_correct() -> None:
    # seats 0-4 answered 0, 0, 2, 0, 1 to a 3-option question whose key is 0:
    # option 0 three times, option 1 once, option 2 once; 3 of 5 correct = 0.6
    q = _choice(["-4", "3", "1"], 0)
    answers = {0: 0, 1: 0, 2: 2, 3: 0, 4: 1}
    assert tally(q, answers, None) == {
        "question": "q1",
        "answered": 5,
        "counts": [
            {"answer": 0, "count": 3},
            {"answer": 1, "count": 1},
            {"answer": 2, "count": 1},
        ],
        "other": 0,
        "correct": 3,
        "share_correct": 0.6,
    }


def test_the_tally_names_students_only_when_given_names() -> None:
    q = _choice(["a", "b"])  # no key: nothing is marked
    names = {0: "Bo", 1: "Ada", 2: "Cy"}
    shown = tally(q, {0: 1, 1: 1, 2: 0}, names)
    assert shown["counts"] == [
        {"answer": 0, "count": 1, "names": ["Cy"]},
        {"answer": 1, "count": 2, "names": ["Ada", "Bo"]},
    ]
    assert shown["correct"] is None and shown["share_correct"] is None


def test_the_tally_of_numbers_lists_the_most_given_first_and_counts_the_rest() -> None:
    # key -4 within 0.5: -4.0 (twice) and -3.75 are right, 3.0 and 1.0 are not: 3 of 5
    q = rules.question("n", "number", "x?", None, -4.0, 0.5, LIMITS)
    answers = {0: -4.0, 1: 3.0, 2: -4.0, 3: -3.75, 4: 1.0}
    shown = tally(q, answers, None)
    assert shown["counts"][0] == {"answer": -4.0, "count": 2}
    assert [row["count"] for row in shown["counts"]] == [2, 1, 1, 1]
    assert shown["correct"] == 3 and shown["share_correct"] == 0.6
    many = {seat: float(seat) for seat in range(rules.TALLY_TOP + 3)}  # 23 distinct numbers
    shown = tally(q, many, None)
    assert len(shown["counts"]) == rules.TALLY_TOP and shown["other"] == 3


def test_the_tally_of_nobody_has_no_share() -> None:
    shown = tally(_choice(["a", "b"], 1), {}, None)
    assert shown["answered"] == 0 and shown["correct"] == 0 and shown["share_correct"] is None
