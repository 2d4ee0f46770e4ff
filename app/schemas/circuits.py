"""Request and response schemas of the circuit API, in the domain's words."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

# A JSON number, or the string a non-finite float64 is written as (RFC 8259 has no NaN).
Number = float | Literal["Infinity", "-Infinity", "NaN"]
# A scalar, or a tensor as nested lists of numbers.
Value = Number | list[Any]
FiniteNumber = Annotated[float, Field(strict=True, allow_inf_nan=False)]


class EvaluateRequest(BaseModel):
    """One expression circuit and the values of its inputs."""

    model_config = ConfigDict(extra="forbid", strict=True)

    expression: str = Field(
        description="An expression or a staged program (see README).", examples=["(x + y) * z"]
    )
    inputs: dict[str, Any] = Field(
        default_factory=dict,
        description="A finite number (or nested list of numbers, for tensors) per input name.",
        examples=[{"x": -2, "y": 5, "z": -4}],
    )
    output_grad: FiniteNumber = Field(1.0, description="The gradient seeded at the output.")
    tie_break: Literal["split", "first"] = Field(
        "split", description="How max/min ties share the gradient: evenly, or all to the first."
    )
    gradcheck: bool = Field(False, description="Also compare against centred differences.")
    h: Annotated[float, Field(strict=True, gt=0, le=0.1, allow_inf_nan=False)] = Field(
        1e-5, description="The centred-difference step for the gradient check."
    )


class Span(BaseModel):
    line: int
    col: int
    end_line: int
    end_col: int


class NodeOut(BaseModel):
    id: str
    kind: Literal["input", "const", "gate"]
    op: str | None
    symbol: str
    label: str | None
    labels: list[str]
    inputs: list[str]
    value: Value
    grad: Value
    shape: list[int]
    text: str
    span: Span | None
    param: Any = None


class EdgeOut(BaseModel):
    id: str
    source: str
    target: str
    port: int
    value: Value
    grad: Value = Field(description="The contribution that flowed back along this edge.")
    shape: list[int]


class StepInput(BaseModel):
    node: str
    port: int
    edge: str
    local_grad: Value | None
    contribution: Value
    accumulated: Value = Field(description="This input's gradient after adding the contribution.")
    uses: list[str] = Field(
        description="Nodes whose cached forward values the local gradient uses."
    )


class KinkOut(BaseModel):
    kind: str
    convention: str
    interval: list[list[float | str]]
    count: int
    text: str


class StepOut(BaseModel):
    index: int
    node: str
    op: str
    symbol: str
    upstream: Value
    inputs: list[StepInput]
    rule: str
    formula: str
    kink: KinkOut | None


class OutputOut(BaseModel):
    value: Value
    shape: list[int]
    node: str


class GradcheckInput(BaseModel):
    name: str
    analytic: Value
    numeric: Value
    rel_error: float | None = Field(
        description="Worst relative error over the entries compared; null when none is finite."
    )
    worst_index: list[int] = Field(
        default_factory=list,
        description="The element with the worst relative error ([] for a scalar).",
    )
    passed: bool | None = Field(description="null when the input sits within h of a kink.")
    near_kink: bool
    status: Literal["pass", "fail", "kink", "not finite"]
    reason: str | None = Field(
        None, description="Why some entries were not compared (a non-finite gradient)."
    )


class GradcheckOut(BaseModel):
    h: float
    tolerance: float
    passed: bool
    inputs: list[GradcheckInput]


class EvaluateResponse(BaseModel):
    expression: str
    output: OutputOut
    inputs: list[str]
    nodes: list[NodeOut]
    edges: list[EdgeOut]
    forward: list[str]
    backward: list[StepOut]
    gradients: dict[str, Value]
    warnings: list[dict[str, Any]]
    stats: dict[str, Any]
    gradcheck: GradcheckOut | None
    index_inputs: list[str] = Field(
        default_factory=list,
        description="Inputs used as an index (s[y]): integers, not differentiated; their "
        "gradient is reported as 0 and the gradient check leaves them out.",
    )


class GateOut(BaseModel):
    name: str
    symbol: str
    arity: int | dict[str, int | None]
    derivative: str
    rule: str


class GatesResponse(BaseModel):
    gates: list[GateOut]


class Preset(BaseModel):
    id: str
    title: str
    description: str
    expression: str
    inputs: dict[str, Any]
    expected: dict[str, Any] | None = None
    source: str = "built-in"


class PresetsResponse(BaseModel):
    presets: list[Preset]
