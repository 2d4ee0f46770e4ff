"""A landscape problem in one place: the dataset, the weights W and the loss, built from request fields."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from app.core.limits import Limits
from app.landscape.data import (
    Dataset,
    builtin_dataset,
    parse_csv,
    problem,
    user_dataset,
    weights_for,
    with_bias,
)
from app.landscape.losses import LossSpec


@dataclass
class Setup:
    data: Dataset
    W: np.ndarray
    spec: LossSpec


def build_data(dataset: dict[str, Any], W: Any, bias: bool, limits: Limits) -> Dataset:
    """Dataset (built-in, X/y, or CSV text) with the optional bias column; bounded by the N, D
    and C limits. With W given and no `c`, the number of classes is W's row count. Labels are
    in 0..C-1: a built-in's by construction, the user's checked by `user_dataset`."""
    loc = ("body", "dataset")
    c = dataset.get("c")
    if c is None and W is not None and isinstance(W, list):
        c = len(W)
    if dataset.get("name"):
        data = builtin_dataset(
            dataset["name"],
            dataset.get("n"),
            dataset.get("d"),
            dataset.get("c"),
            dataset.get("seed") or 0,
            limits,
        )
    elif dataset.get("csv") is not None:
        X_rows, y_list = parse_csv(dataset["csv"], (*loc, "csv"))
        data = user_dataset(X_rows, y_list, c, (*loc, "csv"), limits)
    elif dataset.get("X") is not None or dataset.get("y") is not None:
        data = user_dataset(dataset.get("X"), dataset.get("y"), c, loc, limits)
    else:
        raise problem("dataset needs a `name`, or `X` and `y`, or `csv`", loc)
    return with_bias(data) if bias else data


def build_setup(
    data: Dataset, W: Any, seed: int, init: str, weight_scale: float, spec: LossSpec
) -> Setup:
    """The problem on `data`: W (given, or drawn from the seed) and the loss. Jobs check the
    cost of N, D and C before this allocates the C x D weights."""
    return Setup(data, weights_for(data, W, seed, init, weight_scale), spec)
