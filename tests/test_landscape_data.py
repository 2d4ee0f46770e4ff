"""Landscape datasets: built-ins, CSV parsing, validation messages and locations, weights."""

from __future__ import annotations

import numpy as np
import pytest

from app.core.config import Settings
from app.core.errors import LimitError, ProblemError
from app.landscape.data import (
    builtin_dataset,
    init_weights,
    parse_csv,
    user_dataset,
    weights_for,
    with_bias,
)

LIMITS = Settings()
LOC = ("body", "dataset")


def only_problem(error: pytest.ExceptionInfo[ProblemError]) -> dict:
    (problem,) = error.value.problems
    return problem.as_detail()


def test_builtin_shapes_and_labels() -> None:
    one_d = builtin_dataset("cs231n-1d", None, None, None, 0, LIMITS)
    assert (one_d.n, one_d.d, one_d.num_classes) == (3, 1, 3)
    toy = builtin_dataset("toy-2d", None, None, None, 0, LIMITS)
    assert (toy.n, toy.d, toy.num_classes) == (9, 3, 3)
    assert np.all(toy.X[:, -1] == 1.0)  # the bias column of the course's demo
    blobs = builtin_dataset("blobs", 30, 4, 5, 7, LIMITS)
    assert (blobs.n, blobs.d, blobs.num_classes) == (30, 4, 5)
    assert sorted(set(blobs.y.tolist())) == [0, 1, 2, 3, 4]
    cifar = builtin_dataset("cifar-shaped", 20, None, None, 1, LIMITS)
    assert (cifar.n, cifar.d, cifar.num_classes) == (20, 3073, 10)
    assert np.all(cifar.X[:, -1] == 1.0) and np.abs(cifar.X[:, :-1]).max() <= 1.0


def test_seeded_data_is_reproducible_cached_and_read_only() -> None:
    first = builtin_dataset("blobs", 12, 3, 3, 5, LIMITS)
    again = builtin_dataset("blobs", 12, 3, 3, 5, LIMITS)
    other = builtin_dataset("blobs", 12, 3, 3, 6, LIMITS)
    assert np.array_equal(first.X, again.X) and not np.array_equal(first.X, other.X)
    with pytest.raises(ValueError):
        first.X[0, 0] = 1.0
    biased = with_bias(first)
    assert biased.d == 4 and np.all(biased.X[:, -1] == 1.0) and first.d == 3


def test_builtin_limits_name_the_setting() -> None:
    with pytest.raises(LimitError) as error:
        builtin_dataset("cifar-shaped", 5000, None, None, 0, LIMITS)
    assert only_problem(error)["setting"] == "max_landscape_nd"


def test_csv_with_header_comments_and_blank_lines() -> None:
    X, y = parse_csv("# made by hand\nx1,x2,label\n\n1.5,-2,0\n 0.5 , 3 , 2 \n", ("csv",))
    assert X == [[1.5, -2.0], [0.5, 3.0]] and y == [0, 2]


MIXED = "mixes numbers and non-numbers, so it is neither a header (no cell a number) nor a data row"


@pytest.mark.parametrize(
    ("text", "line", "col", "msg"),
    [
        (
            "1,2,0\n3,abc,1\n",
            2,
            2,
            "CSV line 2 has a value that is not a number: column 2 is 'abc'",
        ),
        ("x1,2,label\n1,2,0\n", 1, 1, f"CSV line 1 {MIXED}: column 1 is 'x1'"),
        ("1,2,0\n3,4,5,1\n", 2, 1, "CSV line 2 has 4 columns, expected 3"),
        ("x1,x2,label\n1,2\n", 2, 1, "CSV line 2 has 2 columns, expected 3"),  # the header's
        ("1,2,0.5\n", 1, 3, "CSV line 1: the label '0.5' is not an integer class index"),
        (
            "1,2,9223372036854775808\n",  # 2**63: no int64 holds it
            1,
            3,
            "CSV line 1: the label '9223372036854775808' is not an integer class index",
        ),
        ("5\n", 1, 1, "CSV line 1 needs at least one feature and a label"),
        (
            "1,2,0\n" + "7," + "w" * 50 + ",1\n",  # the cell is quoted up to 40 characters
            2,
            2,
            "CSV line 2 has a value that is not a number: column 2 is '" + "w" * 40 + "'",
        ),
    ],
)
def test_csv_errors_name_the_line(text: str, line: int, col: int, msg: str) -> None:
    with pytest.raises(ProblemError) as error:
        parse_csv(text, ("body", "dataset", "csv"))
    detail = only_problem(error)
    assert (detail["msg"], detail["line"], detail["col"]) == (msg, line, col)
    assert detail["loc"] == ["body", "dataset", "csv"]
    assert detail["excerpt"] == text.splitlines()[line - 1]


def test_a_label_just_under_2_63_is_read() -> None:
    # the largest float below 2**63 is a class index parse_csv reads (check_labels bounds it)
    assert parse_csv("1,9223372036854774784\n", ("csv",))[1] == [9223372036854774784]


def test_a_csv_error_quotes_its_line_up_to_80_characters() -> None:
    # the raw line, as sent (its spaces kept), cut after 80 characters; col is the bad cell's
    long = "  " + ",".join(["1.25"] * 30) + ",x,0"
    with pytest.raises(ProblemError) as error:
        parse_csv(long + "\n", ("csv",))
    detail = only_problem(error)
    assert (detail["line"], detail["col"]) == (1, 31)
    assert detail["excerpt"] == long[:80] and len(long) > 80
    short = "1,2,0\n3,abc,1\n"
    with pytest.raises(ProblemError) as error:
        parse_csv(short, ("csv",))
    assert only_problem(error)["excerpt"] == "3,abc,1"


@pytest.mark.parametrize(
    ("text", "sizes"),
    [
        ("1,2,0\n3,4,0\n", (2, 2, 1)),  # label 0 alone is one class
        ("1,2,0.5\n", (1, 2, 1)),  # not an index (the job's 422), but counted as parse_csv reads
        ("1,200\n", (1, 1, 201)),
        ("1,9223372036854774784\n", (1, 1, 9223372036854774785)),  # the largest float < 2**63
        ("1,9223372036854775808\n", (1, 1, 0)),  # 2**63: no class index
        ("1,-1\n", (1, 1, 0)),
        ("# only a comment\n\n", (0, 0, 0)),
        ("x1,x2,label\n1,2,3\n", (1, 2, 4)),  # the header's cells are not numbers
    ],
)
def test_csv_sizes_are_predicted_as_parse_csv_reads_them(
    text: str, sizes: tuple[int, int, int]
) -> None:
    from app.landscape.jobs import csv_sizes

    assert csv_sizes(text) == sizes


def test_csv_without_rows() -> None:
    with pytest.raises(ProblemError) as error:
        parse_csv("x1,label\n\n", ("csv",))
    assert only_problem(error)["msg"] == "the CSV has no data rows"


def test_values_beyond_the_bound_are_refused_with_their_index() -> None:
    with pytest.raises(ProblemError) as error:
        user_dataset([[1.0, 2.0], [3.0, 1e300]], [0, 1], None, LOC, LIMITS)
    detail = only_problem(error)
    assert detail["loc"] == ["body", "dataset", "X", 1, 1]
    assert "1e+06" in detail["msg"]
    # the bound itself is in range, either sign
    data = user_dataset([[1e6], [-1e6]], [0, 1], None, LOC, LIMITS)
    np.testing.assert_array_equal(data.X, [[1e6], [-1e6]])


INF = float("inf")


@pytest.mark.parametrize(
    ("X", "y", "c", "msg", "loc"),
    [
        (None, [0], None, "a user dataset needs both X and y", []),
        ([[1.0]], None, None, "a user dataset needs both X and y", []),
        ([], [], None, "X is empty: it needs at least one row", ["X"]),
        ([[]], [0], None, "X row 0 is empty: it needs at least one column", ["X", 0]),
        ([[1.0, 2.0], [3.0]], [0, 1], None, "X row 1 has 1 values but row 0 has 2", ["X", 1]),
        (
            [[1.0, 2.0], [3.0, INF]],
            [0, 1],
            None,
            "X has a non-finite value (inf) at index [1, 1]",
            ["X", 1, 1],
        ),
        (
            [[1.0, 2.0], [-INF, 4.0], [INF, 1.0]],  # the first one, in row order
            [0, 1, 1],
            None,
            "X has a non-finite value (-inf) at index [1, 0]",
            ["X", 1, 0],
        ),
        (
            [[1.0], [2e6]],
            [0, 1],
            None,
            "X has 2000000.0 at index [1, 0], beyond +-1e+06",
            ["X", 1, 0],
        ),
        (
            [[1.0], [2.0]],
            [0, 2**63],
            None,
            f"label y[1] = {2**63} is out of range: not a class index",
            ["y", 1],
        ),
        ([[1.0], [2.0]], [0], None, "y has 1 labels but X has 2 rows", ["y"]),
        ([[1.0], [2.0]], [0, 3], 2, "label y[1] = 3 is out of range: classes are 0..1", ["y", 1]),
        # label C itself is one past the last class, 0..C-1
        ([[1.0], [2.0]], [0, 2], 2, "label y[1] = 2 is out of range: classes are 0..1", ["y", 1]),
        (  # -2**63 fits int64, so it is a class index out of range, not an unreadable one
            [[1.0], [2.0]],
            [0, -(2**63)],
            2,
            "label y[1] = -9223372036854775808 is out of range: classes are 0..1",
            ["y", 1],
        ),
        (
            [[1.0], [2.0]],
            [-1, 0],
            None,
            "label y[0] = -1 is out of range: classes are 0..0",
            ["y", 0],
        ),
    ],
)
def test_a_user_datasets_errors_say_what_and_where(
    X: object, y: object, c: int | None, msg: str, loc: list[object]
) -> None:
    with pytest.raises(ProblemError) as error:
        user_dataset(X, y, c, LOC, LIMITS)
    detail = only_problem(error)
    assert (detail["msg"], detail["loc"]) == (msg, [*LOC, *loc])


def test_a_user_dataset_is_sized_before_its_rows_are_read() -> None:
    # N and D from the rows' count and the first row's length, C from `c` (or 1): a 413 before
    # any row is converted or checked
    limits = Settings(max_landscape_nd=5)
    rows = [[1.0, 2.0, 3.0]] * 2  # N*D = 6
    with pytest.raises(LimitError) as error:
        user_dataset(rows, [0, 1], None, LOC, limits)
    detail = only_problem(error)
    assert (detail["setting"], detail["got"], detail["loc"]) == ("max_landscape_nd", 6, list(LOC))
    # so a ragged second row is not even looked at: the size (2 x 3 from row 0) is refused first
    with pytest.raises(LimitError) as error:
        user_dataset([[1.0, 2.0, 3.0], [1.0]], [0, 1], None, LOC, limits)
    detail = only_problem(error)
    assert (detail["setting"], detail["got"], detail["loc"]) == ("max_landscape_nd", 6, list(LOC))
    with pytest.raises(LimitError) as error:  # c = 2 classes over a limit of 1: counted first
        user_dataset([[1.0]], [0], 2, LOC, Settings(max_landscape_c=1))
    assert only_problem(error)["got"] == 2
    # without c, the early count takes 1 class (the labels decide C later): 1 class fits
    assert user_dataset([[1.0]], [0], None, LOC, Settings(max_landscape_c=1)).num_classes == 1
    data = user_dataset([[1.0, 2.0], [3.0, 4.0]], [1, 0], None, LOC, LIMITS)
    assert (data.n, data.d, data.num_classes) == (2, 2, 2)
    np.testing.assert_array_equal(data.X, [[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_array_equal(data.y, [1, 0])


def test_classes_default_to_max_label_plus_one_and_labels_are_checked() -> None:
    data = user_dataset([[0.0], [1.0]], [0, 4], None, LOC, LIMITS)
    assert data.num_classes == 5
    with pytest.raises(ProblemError) as error:
        user_dataset([[0.0], [1.0]], [0, 4], 3, LOC, LIMITS)
    assert only_problem(error)["loc"] == ["body", "dataset", "y", 1]


def test_weights_given_or_drawn() -> None:
    data = builtin_dataset("toy-2d", None, None, None, 0, LIMITS)
    W = weights_for(data, [[1, 2, 3], [4, 5, 6], [7, 8, 9]], 0, "gaussian", 0.01)
    assert W.shape == (3, 3) and W[2, 2] == 9.0
    drawn = weights_for(data, None, 4, "gaussian", 0.5)
    assert np.array_equal(drawn, init_weights(3, 3, 4, "gaussian", 0.5))
    big = init_weights(10, 2500, 0, "xavier", 123.0)  # xavier ignores weight_scale
    assert big.std() == pytest.approx(1 / 50, rel=0.05)
    with pytest.raises(ProblemError) as error:
        weights_for(data, [[1, 2, 3]], 0, "gaussian", 0.01)
    assert "1x3 but must be C x D = 3x3" in only_problem(error)["msg"]
    with pytest.raises(ProblemError) as error:  # a ragged W is named by its field and row
        weights_for(data, [[1.0, 2.0, 3.0], [4.0, 5.0]], 0, "gaussian", 0.01)
    detail = only_problem(error)
    assert (detail["msg"], detail["loc"]) == (
        "W row 1 has 2 values but row 0 has 3",
        ["body", "W", 1],
    )


def test_number_of_loss_terms_is_limited() -> None:
    limits = Settings(max_landscape_nc=100)
    builtin_dataset("blobs", 20, 2, 5, 0, limits)  # exactly 100 terms is fine
    with pytest.raises(LimitError) as error:
        builtin_dataset("blobs", 21, 2, 5, 0, limits)
    assert only_problem(error)["setting"] == "max_landscape_nc"
    with pytest.raises(LimitError):
        user_dataset([[0.0]] * 21, [0] * 20 + [4], None, LOC, limits)


def test_blobs_default_shape_and_its_size_error() -> None:
    from app.landscape.data import builtin_dataset, builtin_shape

    assert builtin_shape("blobs", None, None, None) == (60, 2, 3)
    data = builtin_dataset("blobs", None, None, None, 0, LIMITS)
    assert (data.n, data.d, data.num_classes) == (60, 2, 3)
    with pytest.raises(LimitError) as error:
        builtin_dataset("blobs", 11, 2, 3, 0, Settings(max_landscape_n=10))
    detail = only_problem(error)
    assert (detail["setting"], detail["loc"]) == ("max_landscape_n", ["body", "dataset"])


def test_build_data_reads_each_kind_of_dataset_and_its_knobs() -> None:
    from app.landscape.model import build_data

    limits = Settings()
    # a built-in's n, d, c and seed; seed absent means 0
    blobs = build_data({"name": "blobs", "n": 7, "d": 4, "c": 5, "seed": 3}, None, False, limits)
    assert (blobs.n, blobs.d, blobs.num_classes) == (7, 4, 5)
    again = build_data({"name": "blobs", "n": 7, "d": 4, "c": 5, "seed": 0}, None, False, limits)
    unseeded = build_data({"name": "blobs", "n": 7, "d": 4, "c": 5}, None, False, limits)
    np.testing.assert_array_equal(again.X, unseeded.X)
    # and 0 is seed 0 itself, not some other default
    np.testing.assert_array_equal(unseeded.X, builtin_dataset("blobs", 7, 4, 5, 0, limits).X)
    assert not np.array_equal(unseeded.X, builtin_dataset("blobs", 7, 4, 5, 1, limits).X)
    assert not np.array_equal(blobs.X, again.X)
    # X and y given; C from `c`, else from W's rows when W is a list, else from the labels
    xy = {"X": [[1.0], [2.0]], "y": [0, 1]}
    assert build_data(xy, None, False, limits).num_classes == 2
    assert build_data(xy, [[0.0], [0.0], [0.0]], False, limits).num_classes == 3
    assert build_data({**xy, "c": 4}, [[0.0], [0.0], [0.0]], False, limits).num_classes == 4
    # CSV text, with C the same way, and the bias column last
    csv = build_data({"csv": "1,0\n2,1\n", "c": 3}, None, True, limits)
    np.testing.assert_array_equal(csv.X, [[1.0, 1.0], [2.0, 1.0]])
    assert csv.num_classes == 3
    cases = [
        ({}, "dataset needs a `name`, or `X` and `y`, or `csv`", ["body", "dataset"]),
        ({"X": [[1.0]]}, "a user dataset needs both X and y", ["body", "dataset"]),
        ({"y": [0]}, "a user dataset needs both X and y", ["body", "dataset"]),
        (
            {"csv": "1,5\n", "c": 2},
            "label y[0] = 5 is out of range: classes are 0..1",
            ["body", "dataset", "csv", "y", 0],
        ),
        (
            {"X": [[1.0]], "y": [3], "c": 2},
            "label y[0] = 3 is out of range: classes are 0..1",
            ["body", "dataset", "y", 0],
        ),
    ]
    for dataset, msg, loc in cases:
        with pytest.raises(ProblemError) as error:
            build_data(dataset, None, False, limits)
        detail = only_problem(error)
        assert (detail["msg"], detail["loc"]) == (msg, loc)


def test_an_unknown_builtin_is_a_422_listing_the_known_ones() -> None:
    from app.landscape.data import builtin_shape

    with pytest.raises(ProblemError) as error:
        builtin_dataset("mnist", None, None, None, 0, LIMITS)
    detail = only_problem(error)
    assert (detail["msg"], detail["loc"]) == (
        "unknown dataset 'mnist'; known: ['blobs', 'cifar-shaped', 'cs231n-1d', 'toy-2d']",
        ["body", "dataset", "name"],
    )
    assert builtin_shape("mnist", None, None, None) is None  # no shape: the job reports it
