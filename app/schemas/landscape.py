"""Request and response bodies of the landscape API (/api/v1/landscape/...)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal, TypeAlias

from pydantic import BaseModel, ConfigDict, Field

from app.core.choices import names, one_of
from app.landscape.data import DATASETS
from app.landscape.losses import LOSSES, SVM_VARIANTS
from app.landscape.optimize import OPTIMIZERS

# The choices come from their tables (one place each); pydantic validates them as Literals, so
# the OpenAPI document lists them and an unknown one is a 422 naming the valid ones.
if TYPE_CHECKING:
    DatasetName: TypeAlias = str
    LossName: TypeAlias = str
    VariantName: TypeAlias = str
    StrategyName: TypeAlias = str
else:
    DatasetName = Literal[names(DATASETS)]
    LossName = one_of(LOSSES)  # read when a request is, so a loss registered later is valid
    VariantName = Literal[names(SVM_VARIANTS)]
    StrategyName = Literal[names(OPTIMIZERS)]

Seed = Annotated[int, Field(ge=0, le=2**63 - 1)]
# Request numbers are finite, really numbers (strict: no true, no "1.5"), and bounded, so no
# loss, slice or gradient of an accepted request can overflow float64.
BOUND = 1e6
Finite = Annotated[float, Field(strict=True, allow_inf_nan=False)]
Bounded = Annotated[Finite, Field(ge=-BOUND, le=BOUND)]
# A JSON array as a pair: strict mode alone would want a Python tuple; the numbers stay strict.
FinitePair = Annotated[tuple[Bounded, Bounded], Field(strict=False)]
DirectionKind = Literal["random", "axis"] | list[list[Bounded]]
# A label must fit int64 to be checked at all (a larger one would overflow numpy, not be a 422).
Label = Annotated[int, Field(ge=-(2**63), lt=2**63)]
WeightIndex = Annotated[list[int], Field(min_length=2, max_length=2)]


class DatasetSpec(BaseModel):
    """A built-in dataset by `name` (with n, d, c, seed where it has them), or X/y, or CSV text."""

    model_config = ConfigDict(extra="forbid", strict=True)

    name: DatasetName | None = None
    n: int | None = Field(None, ge=1)
    d: int | None = Field(None, ge=1)
    c: int | None = Field(None, ge=1, description="number of classes; default max(y) + 1")
    seed: Seed | None = None
    X: list[list[Bounded]] | None = Field(None, description="N x D features, one row per example")
    y: list[Label] | None = Field(None, description="N labels in 0..C-1")
    csv: str | None = Field(None, description="CSV text, label in the last column")


class LandscapeRequest(BaseModel):
    """What every landscape request shares: data, weights and the loss."""

    model_config = ConfigDict(extra="forbid", strict=True)

    dataset: DatasetSpec
    W: list[list[Bounded]] | None = Field(
        None, description="C x D weights; default: drawn from seed"
    )
    seed: Seed = 0
    init: Literal["gaussian", "xavier"] = Field(
        "gaussian", description="gaussian: weight_scale * N(0, 1); xavier: std 1/sqrt(D)"
    )
    weight_scale: Finite = Field(0.01, gt=0, le=BOUND)
    bias: bool = Field(False, description="append a constant-1 column (the bias trick)")
    loss: LossName = "svm"
    variant: VariantName = "ww"
    delta: Bounded = 1.0
    reg: Finite = Field(0.0, ge=0, le=BOUND)


class LossRequest(LandscapeRequest):
    gradcheck: bool = Field(False, description="also compare dW with central differences")


class Gradcheck(BaseModel):
    h: float
    entries: list[list[int]]
    analytic: list[float]
    numeric: list[float]
    relative_errors: list[float]
    max_relative_error: float
    sampled: bool
    numeric_grad_W: list[list[float]] | None = None


class LossResponse(BaseModel):
    loss: float
    data_loss: float
    reg_loss: float
    per_example: list[float]
    margins: list[list[float]] | None = Field(
        None, description="hinge arguments (SVM) or s_j - s_y (softmax); null when N*C is large"
    )
    active: list[list[bool]] | None = Field(None, description="the terms that carry gradient")
    probabilities: list[list[float]] | None = None
    grad_W: list[list[float]]
    W: list[list[float]]
    n: int
    d: int
    c: int
    gradcheck: Gradcheck | None = None


class PlaneFields(BaseModel):
    """The slice plane's directions; the same fields give the same plane in /slice and /optimize."""

    directions: list[DirectionKind] = Field(
        default_factory=lambda: list[DirectionKind](["random", "random"]),
        min_length=2,
        max_length=2,
    )
    axes: list[WeightIndex] | None = Field(None, description="[c, d] per `axis` direction")
    normalize: Literal["none", "overall", "rows"] = Field(
        "none", description="scale random directions to ||W|| overall or row by row"
    )
    direction_seed: Seed = 1


class SliceRequest(LandscapeRequest, PlaneFields):
    dims: Literal[1, 2] = 1
    direction: DirectionKind = "random"
    axis: WeightIndex | None = None
    range: FinitePair = (-1.0, 1.0)
    beta_range: FinitePair | None = Field(None, description="2-D only; default `range`")
    steps: int = Field(101, description="samples per axis")


class Kink(BaseModel):
    alpha: float
    slope_left: float
    slope_right: float


class Point(BaseModel):
    alpha: float | None = None
    beta: float | None = None
    loss: float


class Subgradient(BaseModel):
    left: float
    right: float


class TermLine(BaseModel):
    i: int
    j: int | None = None
    values: list[float]


class SliceResponse(BaseModel):
    dims: int
    exact: bool
    alphas: list[float]
    betas: list[float] | None = None
    losses: list[float] | list[list[float]]
    minimum: Point
    origin: Point
    kinks: list[Kink] | None = None
    kink_count: int | None = None
    kinks_truncated: bool | None = None
    subgradient: Subgradient | None = None
    terms: list[TermLine] | None = None
    per_example: list[TermLine] | None = None


class OptimizeRequest(LandscapeRequest, PlaneFields):
    strategy: StrategyName = "gd"
    steps: int = Field(100, ge=1)
    step_size: Finite = Field(0.1, gt=0, le=BOUND)
    batch_size: int = Field(32, ge=1)
    optimizer_seed: Seed = 0


class Path(BaseModel):
    alphas: list[float]
    betas: list[float]
    off_plane: list[float]


class OptimizeResponse(BaseModel):
    strategy: str
    losses: list[float]
    final_loss: float
    path: Path
    tried_losses: list[float] | None = None
    batch_losses: list[float] | None = None
    steps_taken: int = Field(description="steps run; fewer than asked when the run diverged")
    diverged: bool = Field(description="the loss or W overflowed: the step size is too large")


class CircuitResponse(BaseModel):
    expression: str
    inputs: dict[str, float]
    loss: float
    data_loss: float
    reg_loss: float
    grad_W: list[list[float]]


class DatasetInfo(BaseModel):
    name: str
    description: str


class UploadedDataset(BaseModel):
    X: list[list[float]]
    y: list[int]
    n: int
    d: int
    c: int


class ChoiceInfo(BaseModel):
    name: str
    label: str
    description: str
    options: list[str] = Field(description="request fields this choice reads")


class CatalogResponse(BaseModel):
    losses: list[ChoiceInfo]
    variants: list[ChoiceInfo] = Field(description="the SVM's variants (loss = svm)")
    datasets: list[ChoiceInfo]
    optimizers: list[ChoiceInfo] = Field(description="OptimizeRequest.strategy")
