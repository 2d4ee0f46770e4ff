"""Datasets and weights for the landscapes: built-ins, user X/y or CSV, validated with located errors."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from app.core.choices import Choice
from app.core.errors import LimitError, Problem, ProblemError
from app.core.limits import Limits

Loc = tuple[str | int, ...]

# Data and weights stay within +-1e6 (as the request schema says), so no loss overflows float64.
MAX_ABS_VALUE = 1e6

# Three points on a line; class k is the true class of point k. Along the weight W[0][0] the
# hinges of points 0 and 1 fall while point 2's rises, so the loss is a kinked bowl.
_CS231N_1D_X = [[1.0], [-2.0], [0.5]]
_CS231N_1D_Y = [0, 1, 2]

# Nine points, three per class, in three rough wedges around the origin; last column is the bias.
_TOY_2D_X = [
    [0.6, 0.5, 1.0],
    [0.9, 0.2, 1.0],
    [0.4, 0.9, 1.0],
    [-0.5, 0.4, 1.0],
    [-0.2, 0.8, 1.0],
    [-0.8, 0.1, 1.0],
    [0.6, -0.5, 1.0],
    [0.3, -0.7, 1.0],
    [-0.5, -0.6, 1.0],
]
_TOY_2D_Y = [0, 0, 0, 1, 1, 1, 2, 2, 2]


@dataclass(frozen=True)
class Dataset:
    """N examples as rows of X (N x D, float64) with integer labels y in [0, C)."""

    X: np.ndarray
    y: np.ndarray
    num_classes: int

    @property
    def n(self) -> int:
        return int(self.X.shape[0])

    @property
    def d(self) -> int:
        return int(self.X.shape[1])


def problem(msg: str, loc: Loc) -> ProblemError:
    return ProblemError(Problem(msg, loc=loc))


def check_finite(array: np.ndarray, what: str, loc: Loc) -> None:
    """422 naming the first non-finite entry of `array` by its index."""
    bad = np.argwhere(~np.isfinite(array))
    if bad.size:
        index = tuple(int(i) for i in bad[0])
        raise problem(
            f"{what} has a non-finite value ({float(array[index])}) at index {list(index)}",
            loc + index,
        )


def as_matrix(rows: Any, what: str, loc: Loc) -> np.ndarray:
    """A list of equal-length numeric rows as a 2-D float array, or a 422 naming the ragged row."""
    if not isinstance(rows, list | tuple) or not rows:
        raise problem(f"{what} is empty: it needs at least one row", loc)
    width = len(rows[0])
    if width == 0:
        raise problem(f"{what} row 0 is empty: it needs at least one column", (*loc, 0))
    for i, row in enumerate(rows):
        if len(row) != width:
            raise problem(f"{what} row {i} has {len(row)} values but row 0 has {width}", (*loc, i))
    matrix = np.asarray(rows, dtype=np.float64)
    check_finite(matrix, what, loc)
    too_big = np.argwhere(np.abs(matrix) > MAX_ABS_VALUE)
    if too_big.size:  # CSV text skips the schema's bound; keep every product far from overflow
        index = tuple(int(i) for i in too_big[0])
        raise problem(
            f"{what} has {float(matrix[index])} at index {list(index)}, beyond +-{MAX_ABS_VALUE:g}",
            loc + index,
        )
    return matrix


def check_size(n: int, d: int, c: int, settings: Limits, loc: Loc) -> None:
    if n > settings.max_landscape_n:
        raise LimitError("N (examples)", n, settings.max_landscape_n, "max_landscape_n", loc)
    if n * d > settings.max_landscape_nd:
        raise LimitError("N*D", n * d, settings.max_landscape_nd, "max_landscape_nd", loc)
    if c > settings.max_landscape_c:
        raise LimitError("C (classes)", c, settings.max_landscape_c, "max_landscape_c", loc)
    if n * c > settings.max_landscape_nc:
        raise LimitError(
            "N*C (loss terms)", n * c, settings.max_landscape_nc, "max_landscape_nc", loc
        )


Shape = tuple[int, int, int]


# Each built-in's N, D and C from the request's n, d and c, without making any data: the cost
# model predicts from these before the pool is asked (app/landscape/jobs.py), and each builder
# below makes exactly this shape.
def _cs231n_1d_shape(n: int | None, d: int | None, c: int | None) -> Shape:
    return len(_CS231N_1D_X), len(_CS231N_1D_X[0]), 3


def _toy_2d_shape(n: int | None, d: int | None, c: int | None) -> Shape:
    return len(_TOY_2D_X), len(_TOY_2D_X[0]), 3


def _blobs_shape(n: int | None, d: int | None, c: int | None) -> Shape:
    return n or 60, d or 2, c or 3


def _cifar_shaped_shape(n: int | None, d: int | None, c: int | None) -> Shape:
    return n or 1000, 3073, 10


def _cs231n_1d(n: int | None, d: int | None, c: int | None, seed: int, limits: Limits) -> Dataset:
    return Dataset(np.array(_CS231N_1D_X), np.array(_CS231N_1D_Y), 3)


def _toy_2d(n: int | None, d: int | None, c: int | None, seed: int, limits: Limits) -> Dataset:
    return Dataset(np.array(_TOY_2D_X), np.array(_TOY_2D_Y), 3)


def _blobs(n: int | None, d: int | None, c: int | None, seed: int, limits: Limits) -> Dataset:
    n, d, c = _blobs_shape(n, d, c)
    check_size(n, d, c, limits, ("body", "dataset"))
    return _random_dataset("blobs", n, d, c, seed)


def _cifar_shaped(
    n: int | None, d: int | None, c: int | None, seed: int, limits: Limits
) -> Dataset:
    n, d, c = _cifar_shaped_shape(n, d, c)
    check_size(n, d, c, limits, ("body", "dataset"))
    return _random_dataset("cifar-shaped", n, d, c, seed)


# The built-in datasets: the schema, the page's menu, GET /datasets and the catalog read this
# table. `options` are the DatasetSpec fields each one reads; `run` builds it.
DATASETS = (
    Choice(
        "cs231n-1d",
        "cs231n-1d: three 1-D points, three classes",
        "Three 1-D points in three classes (no bias column): the notes' single-weight "
        "picture, with several kinks along any weight.",
        run=_cs231n_1d,
    ),
    Choice(
        "toy-2d",
        "toy-2d: nine 2-D points with a bias column",
        "Nine 2-D points in three classes, with a constant-1 bias column already "
        "appended (D = 3), like the course's interactive linear-classifier demo.",
        run=_toy_2d,
    ),
    Choice(
        "blobs",
        "blobs: Gaussian clusters",
        "Gaussian clusters: n points, d features, c classes, drawn from seed (no bias column).",
        ("n", "d", "c", "seed"),
        run=_blobs,
    ),
    Choice(
        "cifar-shaped",
        "cifar-shaped: synthetic N×3073, 10 classes",
        "Synthetic, not CIFAR-10: n random rows of 3072 pixel-like values in [-1, 1] "
        "plus a constant-1 bias column (D = 3073), and random labels in 10 classes. For scale only.",
        ("n", "seed"),
        run=_cifar_shaped,
    ),
)
BUILTIN_DATASETS: dict[str, str] = {choice.name: choice.description for choice in DATASETS}
# The shape of each row of DATASETS (a test checks every row has one that matches its data).
SHAPES: dict[str, Callable[[int | None, int | None, int | None], Shape]] = {
    "cs231n-1d": _cs231n_1d_shape,
    "toy-2d": _toy_2d_shape,
    "blobs": _blobs_shape,
    "cifar-shaped": _cifar_shaped_shape,
}


def builtin_shape(name: str, n: int | None, d: int | None, c: int | None) -> Shape | None:
    """N, D and C of a built-in dataset (before any bias column), or None for a name without
    a shape (unknown: the job reports it)."""
    shape = SHAPES.get(name)
    return shape(n, d, c) if shape is not None else None


def builtin_dataset(
    name: str, n: int | None, d: int | None, c: int | None, seed: int, settings: Limits
) -> Dataset:
    """A row of DATASETS, built; n/d/c apply where the dataset has those knobs."""
    for choice in DATASETS:
        if choice.name == name and choice.run is not None:
            dataset: Dataset = choice.run(n, d, c, seed, settings)
            return dataset
    known = sorted(choice.name for choice in DATASETS)
    raise problem(f"unknown dataset {name!r}; known: {known}", ("body", "dataset", "name"))


@lru_cache(maxsize=4)
def _random_dataset(name: str, n: int, d: int, c: int, seed: int) -> Dataset:
    """Seeded synthetic data, cached (read-only arrays) since the same slice is asked for often."""
    rng = np.random.default_rng(seed)
    if name == "blobs":
        centers = rng.normal(0.0, 3.0, size=(c, d))
        y = np.arange(n) % c
        X = centers[y] + rng.standard_normal((n, d))
    else:  # cifar-shaped: 3072 pixel-like values in [-1, 1] and the bias column
        X = np.ones((n, d))
        X[:, : d - 1] = rng.uniform(-1.0, 1.0, size=(n, d - 1))
        y = rng.integers(0, c, size=n)
    X.flags.writeable = False
    y.flags.writeable = False
    return Dataset(X, y, c)


def _csv_error(msg: str, loc: Loc, line_no: int, col: int, raw: str) -> ProblemError:
    return ProblemError(Problem(msg, loc=loc, line=line_no, col=col, excerpt=raw[:80]))


# Labels are class indices: anything at or beyond 2**63 cannot even be stored as one.
_MAX_LABEL = 2**63


def _number(cell: str) -> float | None:
    try:
        return float(cell)
    except ValueError:
        return None


def parse_csv(text: str, loc: Loc) -> tuple[list[list[float]], list[int]]:
    """Rows of numbers, label in the last column; blank lines and `#` comments are skipped.

    The header rule: the first row is a header when none of its cells is a number (`x1,x2,label`).
    A first row with some numbers and some words is neither a header nor data (a typo, or a
    header with a numeric name), so it is a 422 naming line and column rather than a row dropped
    in silence. A UTF-8 byte-order mark (spreadsheets' "CSV UTF-8") is not part of the first cell.
    """
    X: list[list[float]] = []
    y: list[int] = []
    width: int | None = None
    seen_first = False
    for line_no, raw in enumerate(text.removeprefix("\ufeff").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        cells = [cell.strip() for cell in line.split(",")]
        parsed = [_number(cell) for cell in cells]
        first_row, seen_first = not seen_first, True
        if None in parsed:
            bad = parsed.index(None) + 1
            if first_row and all(value is None for value in parsed):  # a header line
                width = len(cells)
                continue
            what = (
                "mixes numbers and non-numbers, so it is neither a header (no cell a number) "
                "nor a data row"
                if first_row
                else "has a value that is not a number"
            )
            raise _csv_error(
                f"CSV line {line_no} {what}: column {bad} is {cells[bad - 1][:40]!r}",
                loc,
                line_no,
                bad,
                raw,
            )
        values = [float(value) for value in parsed if value is not None]
        if len(values) < 2:
            raise _csv_error(
                f"CSV line {line_no} needs at least one feature and a label", loc, line_no, 1, raw
            )
        if width is not None and len(values) != width:
            raise _csv_error(
                f"CSV line {line_no} has {len(values)} columns, expected {width}",
                loc,
                line_no,
                1,
                raw,
            )
        width = len(values)
        label = values[-1]
        if not math.isfinite(label) or label != int(label) or abs(label) >= _MAX_LABEL:
            raise _csv_error(
                f"CSV line {line_no}: the label {cells[-1]!r} is not an integer class index",
                loc,
                line_no,
                len(cells),
                raw,
            )
        X.append(values[:-1])
        y.append(int(label))
    if not X:
        raise problem("the CSV has no data rows", loc)
    return X, y


def user_dataset(X_rows: Any, y_list: Any, c: int | None, loc: Loc, settings: Limits) -> Dataset:
    """Validate user X/y: non-empty, rectangular, finite, len(y) == N, labels in [0, C)."""
    if X_rows is None or y_list is None:
        raise problem("a user dataset needs both X and y", loc)
    n = len(X_rows)
    if n and len(X_rows[0]):
        check_size(n, len(X_rows[0]), c or 1, settings, loc)
    X = as_matrix(X_rows, "X", (*loc, "X"))
    for i, label in enumerate(y_list):
        if not -_MAX_LABEL <= label < _MAX_LABEL:  # np.int64 would overflow: a 500, not a 422
            raise problem(
                f"label y[{i}] = {label} is out of range: not a class index", (*loc, "y", i)
            )
    y = np.asarray(y_list, dtype=np.int64).reshape(-1)
    if y.size != X.shape[0]:
        raise problem(f"y has {y.size} labels but X has {X.shape[0]} rows", (*loc, "y"))
    num_classes = c if c is not None else int(y.max()) + 1
    check_size(X.shape[0], X.shape[1], num_classes, settings, loc)
    check_labels(y, num_classes, (*loc, "y"))
    return Dataset(X, y, num_classes)


def check_labels(y: np.ndarray, num_classes: int, loc: Loc) -> None:
    bad = np.flatnonzero((y < 0) | (y >= num_classes))
    if bad.size:
        i = int(bad[0])
        raise problem(
            f"label y[{i}] = {int(y[i])} is out of range: classes are 0..{num_classes - 1}",
            (*loc, i),
        )


def with_bias(data: Dataset) -> Dataset:
    """The bias trick: append a constant-1 column, so W's last column is the bias b."""
    X = np.hstack([data.X, np.ones((data.n, 1))])
    return Dataset(X, data.y, data.num_classes)


def init_weights(num_classes: int, d: int, seed: int, init: str, weight_scale: float) -> np.ndarray:
    """C x D weights: `gaussian` is weight_scale * N(0, 1); `xavier` has std 1/sqrt(D)."""
    rng = np.random.default_rng(seed)
    std = 1.0 / math.sqrt(d) if init == "xavier" else weight_scale
    return rng.standard_normal((num_classes, d)) * std


def weights_for(
    data: Dataset, W_rows: Any, seed: int, init: str, weight_scale: float
) -> np.ndarray:
    """The given W (checked to be C x D and finite) or one drawn from seed."""
    if W_rows is None:
        return init_weights(data.num_classes, data.d, seed, init, weight_scale)
    W = as_matrix(W_rows, "W", ("body", "W"))
    if W.shape != (data.num_classes, data.d):
        raise problem(
            f"W is {W.shape[0]}x{W.shape[1]} but must be C x D = "
            f"{data.num_classes}x{data.d} (classes x features, after any bias column)",
            ("body", "W"),
        )
    return W
