"""Request and response bodies of the landscape API (/api/v1/landscape/...)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeAlias

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

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
# Fields kept for /api/v1 callers beside their consistent name (README "Compatibility").
DEPRECATED: dict[str, Any] = {"deprecated": True}


def refuse(field: str, message: str, value: Any) -> ValidationError:
    """A 422 naming `field` (extra_forbidden: the field is not one this kind of request takes)."""
    error = PydanticCustomError("extra_forbidden", message)
    return ValidationError.from_exception_data(
        "request", [InitErrorDetails(type=error, loc=(field,), input=value)]
    )


def _without_null(prop: dict[str, Any]) -> dict[str, Any]:
    """An optional field's schema inside a variant: given there, so a value, not null."""
    branches = [b for b in prop.get("anyOf", []) if b != {"type": "null"}]
    if len(branches) != 1:
        return {k: v for k, v in prop.items() if k != "default" or v is not None}
    rest = {k: v for k, v in prop.items() if k != "anyOf" and (k != "default" or v is not None)}
    return {**branches[0], **rest}


def one_of_variants(schema: dict[str, Any], variants: Iterable[dict[str, Any]]) -> None:
    """Rewrites a model's JSON schema as a oneOf of its kinds, each with only its own fields.

    The model validates as one class (so an error names the field, not a union branch); the
    document says which fields go together, so a generated client types each kind on its own.
    Each variant: title, description, fields (names kept), required, and `override` (per field).
    """
    properties = schema.pop("properties")
    schema.pop("required", None)
    schema.pop("additionalProperties", None)
    schema["oneOf"] = [
        {
            "title": variant["title"],
            "description": variant["description"],
            "type": "object",
            "properties": {
                name: {
                    **_without_null(properties[name]),
                    **variant.get("override", {}).get(name, {}),
                }
                for name in properties
                if name in variant["fields"]
            },
            "required": variant["required"],
            "additionalProperties": False,
        }
        for variant in variants
    ]


# How a dataset is given: one of these, and only its own fields (a built-in's knobs are the
# `options` of its DATASETS row).
_GIVEN_BY = {"`name`": ("name",), "`X`/`y`": ("X", "y"), "`csv`": ("csv",)}
_KNOBS = ("n", "d", "c", "seed")


def _dataset_variants(schema: dict[str, Any]) -> None:
    named = [
        {
            "title": f"Dataset {row.name}",
            "description": row.description,
            "fields": {"name", *row.options},
            "required": ["name"],
            "override": {"name": {"const": row.name, "enum": [row.name]}},
        }
        for row in DATASETS
    ]
    one_of_variants(
        schema,
        [
            *named,
            {
                "title": "Dataset X and y",
                "description": "Your own examples: features X and labels y.",
                "fields": {"X", "y", "c"},
                "required": ["X", "y"],
            },
            {
                "title": "Dataset csv",
                "description": "CSV text: features, then the label in the last column.",
                "fields": {"csv", "c"},
                "required": ["csv"],
            },
        ],
    )


class DatasetSpec(BaseModel):
    """A built-in dataset by `name` (with n, d, c, seed where it has them), or X and y, or CSV
    text: exactly one of the three, each with only its own fields."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        json_schema_extra=lambda schema, _cls: _dataset_variants(schema),
    )

    name: DatasetName | None = Field(None, description="A built-in dataset.")
    n: int | None = Field(None, ge=1, description="Examples to draw (blobs, cifar-shaped).")
    d: int | None = Field(None, ge=1, description="Features per example (blobs).")
    c: int | None = Field(
        None, ge=1, description="Number of classes (blobs; X/y and csv: default max(y) + 1)."
    )
    seed: Seed | None = Field(None, description="Seed of the drawn examples (blobs, cifar-shaped).")
    X: list[list[Bounded]] | None = Field(None, description="N x D features, one row per example")
    y: list[Label] | None = Field(None, description="N labels in 0..C-1")
    csv: str | None = Field(None, description="CSV text, label in the last column")

    @model_validator(mode="after")
    def _one_kind_with_its_own_fields(self) -> DatasetSpec:
        given = {field for field in type(self).model_fields if getattr(self, field) is not None}
        kinds = [kind for kind, fields in _GIVEN_BY.items() if given & set(fields)]
        if len(kinds) > 1:
            second = next(f for f in _GIVEN_BY[kinds[1]] if f in given)
            raise refuse(
                second,
                "a dataset is given by `name`, by `X` and `y`, or by `csv`, only one of them: "
                f"this one has {kinds[0]} and {kinds[1]}",
                getattr(self, second),
            )
        if kinds == ["`name`"]:
            row = next(row for row in DATASETS if row.name == self.name)
            for knob in _KNOBS:
                if knob in given and knob not in row.options:
                    readers = [r.name for r in DATASETS if knob in r.options]
                    raise refuse(
                        knob,
                        f"the built-in dataset {self.name!r} has no `{knob}` (it is fixed); "
                        f"`{knob}` is read by {', '.join(readers) or 'no built-in dataset'}",
                        getattr(self, knob),
                    )
        elif kinds:
            for knob in ("n", "d", "seed"):
                if knob in given:
                    raise refuse(
                        knob,
                        f"`{knob}` is for a built-in dataset (`name`); a dataset given by "
                        f"{kinds[0]} has its own size (only `c` may be added)",
                        getattr(self, knob),
                    )
        return self


class LandscapeRequest(BaseModel):
    """What every landscape request shares: data, weights and the loss."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        json_schema_extra={
            "examples": [{"dataset": {"name": "cs231n-1d"}, "W": [[0.3], [-0.2], [0.6]]}]
        },
    )

    dataset: DatasetSpec = Field(description="The examples the loss is computed on.")
    W: list[list[Bounded]] | None = Field(
        None, description="C x D weights; default: drawn from seed"
    )
    seed: Seed = Field(0, description="Seed of the drawn W (when W is not given).")
    init: Literal["gaussian", "xavier"] = Field(
        "gaussian", description="gaussian: weight_scale * N(0, 1); xavier: std 1/sqrt(D)"
    )
    weight_scale: Finite = Field(
        0.01, gt=0, le=BOUND, description="The spread of a gaussian-drawn W."
    )
    bias: bool = Field(False, description="append a constant-1 column (the bias trick)")
    loss: LossName = Field("svm", description="The loss (GET /api/v1/landscape/catalog).")
    variant: VariantName = Field(
        "ww", description="The SVM's variant (loss svm; see the catalog's variants)."
    )
    delta: Bounded = Field(1.0, description="The SVM's margin.")
    reg: Finite = Field(0.0, ge=0, le=BOUND, description="L2 strength: reg_loss = reg * sum(W²).")


class CircuitRequest(LandscapeRequest):
    """The loss as a circuit program: the whole loss, or one example's L_i."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"dataset": {"name": "cs231n-1d"}, "W": [[0.3], [-0.2], [0.6]], "example": 2},
                {"dataset": {"name": "cs231n-1d"}, "W": [[3.2], [5.1], [-1.7]], "scope": "example"},
                {"dataset": {"name": "cs231n-1d"}, "W": [[0.3], [-0.2], [0.6]], "reg": 0.1},
            ]
        }
    )

    scope: Literal["example", "all"] | None = Field(
        None,
        description="example: one example's L_i (its scores, its max(0, ...) gates, their sum; "
        "no regularizer); all: every example, the mean and the regularizer (N*C at most "
        "max_circuit_terms); null: example when `example` is given, else all (as before)",
    )
    example: int | None = Field(
        None,
        ge=0,
        description="which example (0 to N-1; not with scope all); default with scope example: "
        "the first whose max gates both route 0 (margin <= 0) and pass gradient on at W, else "
        "the first with one routing 0, else 0",
    )


class LossRequest(LandscapeRequest):
    """The loss and its gradient at W."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"dataset": {"name": "cs231n-1d"}, "W": [[0.3], [-0.2], [0.6]]},
                {
                    "dataset": {"X": [[1.0, 2.0], [-1.0, 0.5], [0.5, -1.5]], "y": [0, 1, 2]},
                    "loss": "softmax",
                    "reg": 0.1,
                    "gradcheck": True,
                },
            ]
        }
    )

    gradcheck: bool = Field(False, description="also compare dW with central differences")
    include_W: bool = Field(
        False,
        description="true: echo the W used (given, or drawn from `seed`) in the answer's `W`; "
        "by default `W` is null (W is C x D numbers: 0.66 MB of the 1.56 MB answer for "
        "cifar-shaped N = 1000, and a caller that sent W already has it)",
    )
    include_data: bool = Field(
        False,
        description="true: the answer's `X` and `y` are the examples as the loss saw them (a "
        "built-in's drawn points, the bias column appended), for a view of the data",
    )


class NumericalGradientRequest(LandscapeRequest):
    """The error of the forward and the centred difference against the step h, at W."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"dataset": {"name": "cs231n-1d"}, "W": [[0.3], [-0.2], [0.6]], "loss": "softmax"}
            ]
        }
    )

    h_range: FinitePair = Field(
        (1e-13, 1.0), description="[smallest, largest] h, both > 0; the steps are log-spaced."
    )
    samples: int = Field(37, ge=2, description="How many h, log-spaced over `h_range`.")


class NumericalGradientResponse(BaseModel):
    """Each difference's worst relative error over the checked weights, at each h."""

    hs: list[float] = Field(description="The steps h, log-spaced.")
    centred: list[float] = Field(
        description="max over the weights of |a - n| / (|a| + |n|), n the centred difference "
        "(L(W + h e) - L(W - h e)) / 2h and a the analytic dW."
    )
    forward: list[float] = Field(
        description="The same for the forward difference (L(W + h e) - L(W)) / h."
    )
    check_h: float = Field(description="The h of /loss's gradient check.")
    entries: int = Field(description="How many weights were checked.")
    sampled: bool = Field(
        description="Only a fixed-seed sample of the weights was checked (the gradient "
        "check's, BPC_MAX_GRADCHECK_ENTRIES)."
    )


class Gradcheck(BaseModel):
    """dW against central differences, entry by entry."""

    h: float = Field(description="The central-difference step.")
    entries: list[list[int]] = Field(description="The [c, d] entries compared.")
    analytic: list[float] = Field(description="dW at those entries.")
    numeric: list[float] = Field(description="The central differences at those entries.")
    relative_errors: list[float] = Field(description="The relative error of each entry.")
    rel_error: float = Field(
        description="The worst relative error (the name the circuit API's gradient check uses)."
    )
    max_relative_error: float = Field(
        description="Deprecated: the same as `rel_error`.", json_schema_extra=DEPRECATED
    )
    sampled: bool = Field(description="Only a sample of the entries was compared (a large W).")
    numeric_grad_W: list[list[float]] | None = Field(
        None, description="The whole numeric dW, when every entry was compared."
    )

    @model_validator(mode="before")
    @classmethod
    def _rel_error_beside_max(cls, data: Any) -> Any:
        # one vocabulary: `rel_error` as in /circuits/evaluate; the old name stays for v1
        if isinstance(data, dict) and "rel_error" not in data and "max_relative_error" in data:
            return {**data, "rel_error": data["max_relative_error"]}
        return data


class CircuitOffer(BaseModel):
    """What /circuit would open at this W: the example, whether each scope fits, and why not."""

    example: int = Field(description="The example /circuit opens by default at this W.")
    example_unavailable: str | None = Field(
        description="Why one example's program is too big, in plain words; null: it fits."
    )
    all_unavailable: str | None = Field(
        description="Why the whole loss's program is too big, in plain words; null: it fits."
    )
    no_circuit_form: bool = Field(description="The loss has no circuit form (a 422 on /circuit).")
    gates_per_example: int = Field(description="max(0, ...) gates in one example's L_i.")
    inactive: list[int] | None = Field(
        description="Per example, its max gates with margin <= 0 at W (they route 0); null "
        "when N*C is over max_loss_matrix_cells."
    )
    note: str = Field(description="What the max gates of `example` do at this W.")


class LossResponse(BaseModel):
    """The loss at W, its parts, each example's loss and the gradient dW."""

    loss: float = Field(description="data_loss + reg_loss.")
    data_loss: float = Field(description="The mean of the examples' losses L_i.")
    reg_loss: float = Field(description="reg * sum(W²).")
    per_example: list[float] = Field(description="Each example's loss L_i, in order.")
    margins: list[list[float]] | None = Field(
        None, description="hinge arguments (SVM) or s_j - s_y (softmax); null when N*C is large"
    )
    active: list[list[bool]] | None = Field(None, description="the terms that carry gradient")
    probabilities: list[list[float]] | None = Field(
        None, description="softmax only: each example's class probabilities; null when N*C is large"
    )
    grad_W: list[list[float]] = Field(
        description="dW, the gradient of the loss with respect to W (C x D)."
    )
    W: list[list[float]] | None = Field(
        description="The W used (given, or drawn from seed); null when the request's include_W "
        "is false."
    )
    X: list[list[float]] | None = Field(
        None, description="The examples (N x D, the bias column included), when include_data."
    )
    y: list[int] | None = Field(None, description="The labels, when include_data.")
    n: int = Field(description="N, the number of examples.")
    d: int = Field(description="D, features per example (the bias column included).")
    c: int = Field(description="C, the number of classes.")
    gradcheck: Gradcheck | None = Field(None, description="The gradient check, when asked for.")
    circuit: CircuitOffer | None = Field(
        None, description="What POST /circuit would give at this W (the page's Open as circuit)."
    )


class PlaneFields(BaseModel):
    """The slice plane's directions; the same fields give the same plane in /slice and /optimize."""

    directions: list[DirectionKind] = Field(
        default_factory=lambda: list[DirectionKind](["random", "random"]),
        min_length=2,
        max_length=2,
        description="The two directions D1, D2: random, axis, or a C x D matrix each.",
    )
    axes: list[WeightIndex] | None = Field(None, description="[c, d] per `axis` direction")
    normalize: Literal["none", "overall", "rows"] = Field(
        "none", description="scale random directions to ||W|| overall or row by row"
    )
    direction_seed: Seed = Field(1, description="Seed of the random directions.")


class RunFields(BaseModel):
    """A descent run from W: the same fields in /optimize and in a 2-D slice's `path`."""

    strategy: StrategyName = Field("gd", description="The optimizer (see the catalog).")
    steps: int = Field(100, ge=1, description="Iterations to run.")
    step_size: Finite = Field(
        0.1,
        gt=0,
        le=BOUND,
        description="gd and sgd: the step size (learning rate) in W -= step_size · dW; random "
        "search: the scale (standard deviation) of each random W; random local search: the "
        "scale of each random step added to W.",
    )
    batch_size: int = Field(32, ge=1, description="Examples per minibatch (sgd, momentum, adam).")
    optimizer_seed: Seed = Field(0, description="Seed of minibatches and random proposals.")
    momentum: Finite = Field(
        0.9,
        ge=0,
        lt=1,
        description="momentum: μ in v = μ·v − step_size·dW, W += v (0 is plain SGD).",
    )


class PathRun(RunFields):
    """The descent run whose plane a 2-D slice with `plane`: "path" is taken in."""

    model_config = ConfigDict(extra="forbid")


# A 1-D slice reads `direction` and `axis`; a 2-D slice `directions`, `axes`, `beta_range`,
# `plane` and `path`.
_ONLY_1D = ("direction", "axis")
_ONLY_2D = ("directions", "axes", "beta_range", "plane", "path")


SLICE_EXAMPLES = [
    {  # README: the exact slice along W[0][0] of the notes' three-point example
        "dataset": {"name": "cs231n-1d"},
        "W": [[0.3], [-0.2], [0.6]],
        "direction": "axis",
        "axis": [0, 0],
        "range": [-2, 2],
        "samples": 9,
    },
    {"dataset": {"name": "toy-2d"}, "dims": 2, "range": [-1, 1], "samples": 21},
]


def _slice_variants(schema: dict[str, Any]) -> None:
    schema["examples"] = SLICE_EXAMPLES
    fields = set(schema["properties"])
    one_of_variants(
        schema,
        [
            {
                "title": "Slice 1-D",
                "description": "The loss along W + a*D: exact kinks, subgradient, minimum.",
                "fields": fields - set(_ONLY_2D),
                "required": ["dataset"],
                "override": {"dims": {"const": 1, "enum": [1]}},
            },
            {
                "title": "Slice 2-D",
                "description": "The loss on the grid W + a*D1 + b*D2.",
                "fields": fields - set(_ONLY_1D),
                "required": ["dataset", "dims"],
                "override": {"dims": {"const": 2, "enum": [2]}},
            },
        ],
    )


class SliceRequest(LandscapeRequest, PlaneFields):
    """A 1-D slice (`direction`, `axis`) or a 2-D slice (`dims`: 2, `directions`, `axes`,
    `beta_range`); the other kind's fields are refused."""

    model_config = ConfigDict(
        json_schema_extra=lambda schema, _cls: _slice_variants(schema),
    )

    dims: Literal[1, 2] = Field(1, description="1: a line; 2: a grid.")
    direction: DirectionKind = Field(
        "random", description="1-D: the direction D: random, axis, or a C x D matrix."
    )
    axis: WeightIndex | None = Field(None, description="1-D: [c, d] of an `axis` direction.")
    range: FinitePair = Field((-1.0, 1.0), description="[lo, hi] of a (and of b, in 2-D).")
    beta_range: FinitePair | None = Field(None, description="2-D only; default `range`")
    steps: int = Field(
        101,
        description="Deprecated name of `samples` (elsewhere `steps` counts iterations).",
        json_schema_extra=DEPRECATED,
    )
    samples: int | None = Field(
        None, description="Samples per axis (default 101; the same as `steps`, give one)."
    )
    plane: Literal["directions", "path"] = Field(
        "directions",
        description='2-D: the plane of `directions`, or "path": the plane of the descent run '
        "`path` from W, spanned by its first two principal directions (Li et al. 2018), so the "
        "path lies in or near the slice; the answer then has the run (`path`) and how much of "
        "it the plane holds (`path_plane`).",
    )
    path: PathRun | None = Field(None, description='2-D with `plane`: "path": the run.')

    @model_validator(mode="after")
    def _fields_of_its_kind(self) -> SliceRequest:
        given = self.model_fields_set
        wrong = _ONLY_2D if self.dims == 1 else _ONLY_1D
        for field in wrong:
            if field in given:
                raise refuse(
                    field,
                    f"`{field}` is for a 2-D slice (`dims`: 2); a 1-D slice takes `direction` "
                    "and `axis`"
                    if self.dims == 1
                    else f"`{field}` is for a 1-D slice; a 2-D slice takes `directions`, `axes` "
                    "and `beta_range`",
                    getattr(self, field),
                )
        if self.plane == "path":
            if self.path is None:
                raise refuse("path", '`plane`: "path" needs the run in `path`', None)
            for field in ("directions", "axes"):
                if field in given:
                    raise refuse(
                        field,
                        f'`{field}` is for a plane of directions; with `plane`: "path" the '
                        "plane comes from the run",
                        getattr(self, field),
                    )
        elif self.path is not None:
            raise refuse("path", '`path` is for `plane`: "path"', self.path.model_dump())
        if self.samples is not None:
            if "steps" in given:
                raise refuse(
                    "samples",
                    "`samples` and `steps` are the same number here (`steps` is its old name): "
                    "give one",
                    self.samples,
                )
            self.steps = self.samples
        return self


class Kink(BaseModel):
    """A point of the 1-D slice where the loss bends, with its one-sided slopes."""

    alpha: float = Field(description="Where along the slice (a).")
    slope_left: float = Field(description="The slope just before it.")
    slope_right: float = Field(description="The slope just after it.")


class Point(BaseModel):
    """A point of the slice and its loss."""

    alpha: float | None = Field(None, description="a.")
    beta: float | None = Field(None, description="b (2-D).")
    loss: float = Field(description="The loss there.")


class Subgradient(BaseModel):
    """The subgradient interval of the loss along the slice at W (a = 0)."""

    interval: tuple[float, float] = Field(
        description="[f'(0-), f'(0+)]: the one-sided slopes at W, as a kink's `interval`."
    )
    left: float = Field(
        description="Deprecated: interval[0], f'(0-).", json_schema_extra=DEPRECATED
    )
    right: float = Field(
        description="Deprecated: interval[1], f'(0+).", json_schema_extra=DEPRECATED
    )

    @model_validator(mode="before")
    @classmethod
    def _interval_beside_sides(cls, data: Any) -> Any:
        # one vocabulary: a subgradient is an interval [lo, hi], as in the circuit API's kinks
        if isinstance(data, dict) and "interval" not in data and "left" in data:
            return {**data, "interval": (data["left"], data.get("right"))}
        return data


class TermLine(BaseModel):
    """One example's loss, or one of its terms, along the slice."""

    i: int = Field(description="The example.")
    j: int | None = Field(None, description="The class of a hinge term (terms only).")
    values: list[float] = Field(description="Its value at each alpha.")


class PathPlaneSummary(BaseModel):
    """How much of a descent path the plane of its two principal directions holds."""

    explained: tuple[float, float] = Field(
        description="Each direction's share of the path's squared movement from W."
    )
    captured: float = Field(description="The two shares together: 1 when the path is flat.")
    max_off_plane: float = Field(description="The largest distance of a path point off the plane.")
    scale: float = Field(
        description="The length of D1 and D2: the path's furthest reach along either, so its "
        "(a, b) lie in [-1, 1]."
    )


class SliceResponse(BaseModel):
    """The loss along a line (1-D) or on a grid (2-D); parts not computed are left out."""

    dims: int = Field(description="1 or 2, as asked.")
    exact: bool = Field(description="Kinks and minimum are exact (SVM losses, 1-D).")
    alphas: list[float] = Field(description="The a samples.")
    betas: list[float] | None = Field(None, description="The b samples (2-D).")
    losses: list[float] | list[list[float]] = Field(
        description="The loss at each a (1-D), or a row per b (2-D)."
    )
    minimum: Point = Field(description="The lowest loss found (exact in 1-D for SVM).")
    origin: Point = Field(description="The loss at W (a = b = 0).")
    kinks: list[Kink] | None = Field(None, description="1-D: every kink in the range.")
    kink_count: int | None = Field(None, description="1-D: how many kinks the range has.")
    kinks_truncated: bool | None = Field(
        None, description="1-D: `kinks` lists only the first ones (BPC_ limit)."
    )
    subgradient: Subgradient | None = Field(None, description="1-D: the subgradient at W.")
    terms: list[TermLine] | None = Field(
        None, description="1-D, small N*C: each hinge term's line."
    )
    per_example_lines: list[TermLine] | None = Field(
        None, description="1-D, small N*C: each example's loss L_i along the slice."
    )
    per_example: list[TermLine] | None = Field(
        None,
        description="Deprecated: the same as `per_example_lines` (in /loss, `per_example` is "
        "a list of numbers).",
        json_schema_extra=DEPRECATED,
    )

    path: OptimizeResponse | None = Field(
        None, description='2-D with `plane`: "path": the run, projected on its plane.'
    )
    path_plane: PathPlaneSummary | None = Field(
        None, description='2-D with `plane`: "path": how much of the run the plane holds.'
    )

    @model_validator(mode="before")
    @classmethod
    def _lines_beside_per_example(cls, data: Any) -> Any:
        if isinstance(data, dict) and "per_example_lines" not in data and "per_example" in data:
            return {**data, "per_example_lines": data["per_example"]}
        return data


class OptimizeRequest(LandscapeRequest, PlaneFields, RunFields):
    """A descent run from W, drawn on the plane of `directions`."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"dataset": {"name": "toy-2d"}, "strategy": "gd", "steps": 50, "step_size": 0.1}
            ]
        }
    )


class Path(BaseModel):
    """The run projected on the slice plane."""

    alphas: list[float] = Field(description="a of each step's W.")
    betas: list[float] = Field(description="b of each step's W.")
    off_plane: list[float] = Field(description="Each W's distance off the plane.")


class OptimizeResponse(BaseModel):
    """The loss per step and the path on the plane."""

    strategy: str = Field(description="The optimizer run.")
    losses: list[float] = Field(description="The loss after each step (the first at W).")
    final_loss: float = Field(description="The last loss.")
    path: Path = Field(description="The path on the plane.")
    tried_losses: list[float] | None = Field(
        None, description="Random search: the loss of every proposal."
    )
    batch_losses: list[float] | None = Field(None, description="sgd: each minibatch's loss.")
    steps_taken: int = Field(description="steps run; fewer than asked when the run diverged")
    diverged: bool = Field(description="the loss or W overflowed: the step size is too large")
    notes: list[str] = Field(
        default_factory=list,
        description="What the numbers do not say, e.g. that sgd with batch_size ≥ N is plain "
        "gradient descent.",
    )


SliceResponse.model_rebuild()  # its `path` is an OptimizeResponse, defined after it


StepSize = Annotated[Finite, Field(gt=0, le=BOUND)]


class CompareRequest(LandscapeRequest):
    """Several runs from the same W and seed: every strategy with every step size."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "dataset": {"name": "cs231n-1d"},
                    "W": [[0.3], [-0.1], [0.6]],
                    "strategies": ["gd"],
                    "step_sizes": [0.01, 0.1, 1.0],
                    "steps": 30,
                }
            ]
        }
    )

    strategies: list[StrategyName] = Field(
        default_factory=lambda: ["gd"], min_length=1, description="The optimizers to run."
    )
    step_sizes: list[StepSize] = Field(
        default_factory=lambda: [0.1],
        min_length=1,
        description="Each strategy runs once per step size (BPC_MAX_COMPARE_RUNS runs at most).",
    )
    steps: int = Field(100, ge=1, description="Iterations of each run.")
    batch_size: int = Field(32, ge=1, description="Examples per minibatch (sgd, momentum, adam).")
    optimizer_seed: Seed = Field(
        0, description="Seed of minibatches and random proposals, the same for every run."
    )
    momentum: Finite = Field(0.9, ge=0, lt=1, description="momentum: μ (see /optimize).")


class CompareRun(BaseModel):
    """One run's loss per step."""

    strategy: str = Field(description="The optimizer run.")
    step_size: float = Field(description="Its step size.")
    losses: list[float] = Field(description="The loss after each step (the first at W).")
    final_loss: float = Field(description="The last loss.")
    steps_taken: int = Field(description="steps run; fewer than asked when the run diverged")
    diverged: bool = Field(description="the loss or W overflowed: the step size is too large")
    notes: list[str] = Field(default_factory=list, description="As in /optimize.")


class CompareResponse(BaseModel):
    """Every run, strategies in the request's order, each with its step sizes in order."""

    runs: list[CompareRun] = Field(description="One per (strategy, step size).")


class CircuitTerm(BaseModel):
    """One max(0, margin) gate of the program."""

    example: int = Field(description="The example i.")
    cls: int = Field(description="The class j of the margin (the largest, for one max over all).")
    margin: float = Field(description="The gate's argument at W (s_j - s_y + delta for the SVM).")
    active: bool = Field(
        description="margin > 0: the gate passes its gradient on to the scores; false: it "
        "routes 0 to them (the kink convention: at margin 0 the gate counts as inactive)"
    )


class CircuitResponse(BaseModel):
    """The loss as a staged program for POST /api/v1/circuits/evaluate, and its values."""

    expression: str = Field(description="The program; W's entries are the inputs W{c}_{d}.")
    inputs: dict[str, float] = Field(description="The inputs to evaluate it with.")
    scope: Literal["example", "all"] = Field(description="What the program computes.")
    example: int | None = Field(description="scope example: the example i; null for all.")
    label: int | None = Field(description="scope example: its true class y_i; null for all.")
    value: float = Field(
        description="What the program's last line computes at W: L_i (scope example), the "
        "landscape's per-example loss, or the whole loss L (scope all)."
    )
    value_grad_W: list[list[float]] = Field(
        description="d value / dW (C x D): what the circuit's backward pass gives its inputs."
    )
    terms: list[CircuitTerm] = Field(
        description="Its max(0, ...) gates in program order (empty for a smooth loss)."
    )
    note: str = Field(description="What the max gates do at this W, in a sentence.")
    loss: float = Field(description="The whole loss, as /loss gives it.")
    data_loss: float = Field(description="The data part.")
    reg_loss: float = Field(description="The regularization part.")
    grad_W: list[list[float]] = Field(description="dW of the whole loss, as /loss gives it.")


class DatasetInfo(BaseModel):
    """A built-in dataset."""

    name: str = Field(description="Its name, for `dataset.name`.")
    description: str = Field(description="What it is.")


class UploadedDataset(BaseModel):
    """An uploaded CSV, parsed: send X and y back as `dataset`."""

    X: list[list[float]] = Field(description="N x D features.")
    y: list[int] = Field(description="N labels.")
    n: int = Field(description="N, the rows read.")
    d: int = Field(description="D, the features per row.")
    c: int = Field(description="C, the largest label + 1.")


class ChoiceInfo(BaseModel):
    """A row of one of the landscape's tables."""

    name: str = Field(description="The name a request uses.")
    label: str = Field(description="The menu's text.")
    description: str = Field(description="What it is.")
    options: list[str] = Field(description="request fields this choice reads")


class CatalogResponse(BaseModel):
    """The landscape's choices, from their tables."""

    losses: list[ChoiceInfo] = Field(description="LandscapeRequest.loss")
    variants: list[ChoiceInfo] = Field(description="the SVM's variants (loss = svm)")
    datasets: list[ChoiceInfo] = Field(description="DatasetSpec.name")
    optimizers: list[ChoiceInfo] = Field(description="OptimizeRequest.strategy")
