"""A landscape problem in one place: the dataset, the weights W and the loss, built from request fields."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from app.core.config import Settings
from app.landscape.data import (
    Dataset,
    builtin_dataset,
    check_labels,
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


def build_setup(
    dataset: dict[str, Any],
    W: Any,
    seed: int,
    init: str,
    weight_scale: float,
    bias: bool,
    spec: LossSpec,
    settings: Settings,
) -> Setup:
    """Dataset (built-in, X/y, or CSV text), the optional bias column, then W (given or seeded).

    With W given and no `c`, the number of classes is W's row count.
    """
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
            settings,
        )
    elif dataset.get("csv") is not None:
        X_rows, y_list = parse_csv(dataset["csv"], (*loc, "csv"))
        data = user_dataset(X_rows, y_list, c, (*loc, "csv"), settings, name="csv")
    elif dataset.get("X") is not None or dataset.get("y") is not None:
        data = user_dataset(dataset.get("X"), dataset.get("y"), c, loc, settings)
    else:
        raise problem("dataset needs a `name`, or `X` and `y`, or `csv`", loc)
    check_labels(data.y, data.num_classes, (*loc, "y"))
    if bias:
        data = with_bias(data)
    weights = weights_for(data, W, seed, init, weight_scale)
    return Setup(data, weights, spec)
