"""Request and response schemas of the circuit API, in the domain's words."""

from __future__ import annotations

from typing import Annotated, Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, create_model

from app.engine.encode import AnswerPart

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
    format: Literal["verbose", "compact"] = Field(
        "verbose",
        description="verbose: a row per node, edge and step (the default, readable as it is); "
        "compact: columns, each fact sent once, captions as templates and slots (the page's "
        "format, about a seventh of the size; README 'The compact answer' shows how to read it).",
    )
    parts: list[AnswerPart] | None = Field(
        None,
        min_length=1,
        description="Only these fields of the verbose answer (null: all of them), e.g. "
        '["gradients"]; what no chosen field needs is not built, and the size budget is '
        "charged for the smaller answer. Verbose format only (README 'Asking for less').",
        examples=[["output", "gradients"]],
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


# The verbose answer cut to a request's `parts`: EvaluateResponse's fields, each one present only
# when asked for (made from EvaluateResponse, so the two never disagree).
EvaluatePartsResponse = create_model(
    "EvaluatePartsResponse",
    __doc__="The verbose answer with only the fields named in the request's `parts`.",
    **{  # type: ignore[call-overload]
        name: (Optional[info.annotation], Field(None, description=info.description))  # noqa: UP045
        for name, info in EvaluateResponse.model_fields.items()
    },
)


class CompactNodes(BaseModel):
    """One column per fact, one entry per node (in creation order, so inputs come first)."""

    kind: str = Field(description="One letter per node: i input, c constant, g gate.")
    op: list[int] = Field(description="The gate's name in `strings`, -1 for inputs/constants.")
    argc: list[int] = Field(description="How many inputs each node has.")
    args: list[int] = Field(
        description="All nodes' inputs, concatenated, each as its distance back (node - input)."
    )
    symbol: list[int] = Field(
        description="The symbol drawn on the node, in `strings`; -1 the gate's own symbol."
    )
    name: list[int] = Field(
        description="How captions name the wire: in `strings`; -1 its excerpt, -2 (excerpt), "
        "-3 its first label."
    )
    span: list[int] = Field(
        description="Two numbers per node: its start in `expression` (code points) as the "
        "distance from the previous node's start, and its length (-1: no span)."
    )
    value: list[Value]
    grad: list[Value]
    shape: dict[str, list[int]] = Field(description="Shapes of non-scalar nodes, by index.")
    label: list[int] = Field(description="The first stage name (in `strings`), -1 none.")
    labels: dict[str, list[int]] = Field(
        description="All stage names (in `strings`) of nodes that have more than one."
    )
    param: dict[str, Any] = Field(description="Gate parameters (axis, exponent), by index.")


class CompactSteps(BaseModel):
    """One entry per backward step (node), or per step and input port (local, usec)."""

    node: list[int] = Field(
        description="Each step's node as the distance back from the previous step's node "
        "(the first from the node count)."
    )
    local: list[Value | None] = Field(description="Local gradient per step and port.")
    usec: list[int] = Field(description="How many cached values each port's rule uses.")
    uses: list[int] = Field(
        description="Those values: k ≥ 0 the step's k-th input, -1 its node, -2 - i node i."
    )
    contribution: dict[str, list[Value]] = Field(
        description="Contributions of steps where they are not upstream × local (by step)."
    )
    kink: dict[str, list[Any]] = Field(
        description="By step: kind and convention (in `strings`), interval, count."
    )
    rule: list[int] = Field(description="The caption template of each step.")
    slots: list[int] = Field(description="Every step's slot texts (in `strings`), in order.")


class CompactEvaluateResponse(BaseModel):
    """The same answer as EvaluateResponse, columnar; README 'The compact answer'."""

    format: Literal["compact"]
    version: int
    expression: str
    inputs: list[str]
    index_inputs: list[str]
    output: int
    output_grad: Number
    strings: list[str]
    gates: dict[str, dict[str, str]] = Field(description="symbol and formula of each gate used.")
    nodes: CompactNodes
    steps: CompactSteps
    templates: list[str] = Field(description='Caption texts with "{}" where a slot goes.')
    warnings: list[dict[str, Any]]
    stats: dict[str, Any]
    gradcheck: GradcheckOut | None


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
