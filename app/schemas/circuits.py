"""Request and response schemas of the circuit API, in the domain's words."""

from __future__ import annotations

from typing import Annotated, Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema, create_model, model_validator

from app.engine.encode import AnswerPart

# A JSON number, or the string a non-finite float64 is written as (RFC 8259 has no NaN).
NonFinite = Literal["Infinity", "-Infinity", "NaN"]
Number = float | NonFinite
# A scalar, or a tensor as nested lists of numbers.
Value = Number | list[Any]
FiniteNumber = Annotated[float, Field(strict=True, allow_inf_nan=False)]
# A gate's fixed parameter: an axis, an exponent, a tuple of them, or an index's written form.
Param = int | Number | str | list[int | Number]
# Inputs by name, as the engine reads them: it checks each one and names the input in its 422,
# so the schema only documents them (a number, or nested lists of numbers for a tensor).
InputValues = Annotated[
    dict[str, Any],
    WithJsonSchema(
        {
            "type": "object",
            "additionalProperties": {"anyOf": [{"type": "number"}, {"type": "array", "items": {}}]},
        }
    ),
]
# Fields kept for /api/v1 callers beside their consistent name (README "Compatibility").
DEPRECATED: dict[str, Any] = {"deprecated": True}

COURSE_EXAMPLE: dict[str, Any] = {"expression": "(x + y) * z", "inputs": {"x": -2, "y": 5, "z": -4}}


class EvaluateRequest(BaseModel):
    """One expression circuit and the values of its inputs."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        json_schema_extra={
            "examples": [
                COURSE_EXAMPLE,
                {
                    "expression": "2 * (x*y + max(z, w))",
                    "inputs": {"x": 3, "y": -4, "z": 2, "w": -1},
                    "gradcheck": True,
                },
                {
                    "expression": "dot = w0*x0 + w1*x1 + w2\nf = 1 / (1 + exp(-dot))",
                    "inputs": {"w0": 2, "x0": -1, "w1": -3, "x1": -2, "w2": -3},
                    "format": "compact",
                },
            ]
        },
    )

    expression: str = Field(
        description="An expression or a staged program (see README).", examples=["(x + y) * z"]
    )
    inputs: InputValues = Field(
        default_factory=dict,
        description="A finite number (or nested list of numbers, for tensors) per input name.",
        examples=[{"x": -2, "y": 5, "z": -4}],
    )
    output_grad: FiniteNumber = Field(
        1.0, description="The gradient seeded at the output.", examples=[1.0]
    )
    tie_break: Literal["split", "first"] = Field(
        "split", description="How max/min ties share the gradient: evenly, or all to the first."
    )
    gradcheck: bool = Field(False, description="Also compare against centred differences.")
    h: Annotated[float, Field(strict=True, gt=0, le=0.1, allow_inf_nan=False)] = Field(
        1e-5, description="The centred-difference step for the gradient check.", examples=[1e-5]
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
    compact_version: Annotated[int, Field(strict=True, ge=1, le=2)] | None = Field(
        None,  # strict: not true, "2" or 2.0
        description="The compact answer's version (null: 1). 2: a scalar circuit's caption "
        "templates name the step's own numbers ({u}, {o}, {x0}, {l0}, {c0}), which the reader "
        "writes, instead of sending each number's text in `strings` (the page asks for 2; "
        "README 'The compact answer'). Compact format only.",
    )
    echo_expression: bool = Field(
        True,
        description="false: the answer leaves out `expression` (the caller sent it, and in the "
        "compact answer it is about a sixth of the bytes; its spans point into the request's "
        "expression). The page sends false (README 'The compact answer').",
    )


class Span(BaseModel):
    """Where a node's text is in the expression (1-based lines and columns, end exclusive)."""

    line: int = Field(description="The first line, from 1.")
    col: int = Field(description="The first column, from 1, in code points.")
    end_line: int = Field(description="The last line.")
    end_col: int = Field(description="The column just after the text on end_line.")


class NodeOut(BaseModel):
    """One node of the circuit: an input, a constant or a gate, with its value and gradient."""

    id: str = Field(description="The node's id (n0, n1, ...), used by edges and steps.")
    kind: Literal["input", "const", "gate"] = Field(description="What the node is.")
    op: str | None = Field(description="The gate's name in the gate table; null otherwise.")
    symbol: str = Field(description="What the diagram draws on the node.")
    label: str | None = Field(description="The first stage name given to this wire, if any.")
    labels: list[str] = Field(description="Every stage name given to this wire.")
    inputs: list[str] = Field(description="The ids of the node's inputs, in argument order.")
    value: Value = Field(description="The forward value (a number, or nested lists).")
    grad: Value = Field(description="The gradient of the output with respect to this wire.")
    shape: list[int] = Field(description="The value's shape ([] for a scalar).")
    text: str = Field(description="The node's excerpt of the expression.")
    span: Span | None = Field(description="Where `text` is in the expression; null if nowhere.")
    param: Param | None = Field(
        None, description="The gate's fixed parameter (an axis, an exponent, an index); or null."
    )


class EdgeOut(BaseModel):
    """A wire from a node into one input port of a gate."""

    id: str = Field(description="The edge's id.")
    source: str = Field(description="The node whose value flows along the edge.")
    target: str = Field(description="The gate it flows into.")
    port: int = Field(description="The target's argument position, from 0.")
    value: Value = Field(description="The source's value.")
    grad: Value = Field(description="The contribution that flowed back along this edge.")
    shape: list[int] = Field(description="The value's shape ([] for a scalar).")


class StepInput(BaseModel):
    """What one backward step sends to one of its inputs."""

    node: str = Field(description="The input node.")
    port: int = Field(description="Its argument position in the step's gate.")
    edge: str = Field(description="The edge the contribution flows back along.")
    local_grad: Value | None = Field(
        description="d(gate output)/d(this input); null for a vector-Jacobian gate."
    )
    contribution: Value = Field(description="upstream × local_grad: what this input receives.")
    accumulated: Value = Field(description="This input's gradient after adding the contribution.")
    uses: list[str] = Field(
        description="Nodes whose cached forward values the local gradient uses."
    )


class KinkOut(BaseModel):
    """A step taken at a point where the gate is not differentiable, and the convention used."""

    kind: str = Field(description="tie (max/min), relu0, abs0 or sqrt0.")
    convention: str = Field(description="The convention applied, in words.")
    interval: list[list[Number]] = Field(
        description="The subgradient interval [lo, hi] the convention picks from, per element."
    )
    count: int = Field(description="How many elements sit on the kink.")
    text: str = Field(description="The caption shown with the step.")


class StepOut(BaseModel):
    """One backward step: a gate receives its upstream gradient and sends one to each input."""

    index: int = Field(description="The step's position in the backward pass, from 0.")
    node: str = Field(description="The gate's node id.")
    op: str = Field(description="The gate's name.")
    symbol: str = Field(description="The gate's symbol.")
    upstream: Value = Field(description="The gradient arriving at the gate's output.")
    inputs: list[StepInput] = Field(description="What each input receives.")
    rule: str = Field(description="The rule in words and numbers (distributes, routes, swaps).")
    formula: str = Field(description="The local derivative as a formula.")
    kink: KinkOut | None = Field(description="Set when the gate sits on a kink; else null.")


class OutputOut(BaseModel):
    """The circuit's output wire."""

    value: Value = Field(description="The output's value.")
    shape: list[int] = Field(description="Its shape ([] for a scalar).")
    node: str = Field(description="The output node's id.")


class GradcheckInput(BaseModel):
    """The analytic gradient of one input against centred differences."""

    name: str = Field(description="The input's name.")
    analytic: Value = Field(description="The gradient the backward pass gives.")
    numeric: Value = Field(description="(f(x + h) - f(x - h)) / 2h, per element.")
    rel_error: float | None = Field(
        description="Worst relative error over the entries compared; null when none is finite."
    )
    worst_index: list[int] = Field(
        default_factory=list,
        description="The element with the worst relative error ([] for a scalar).",
    )
    passed: bool | None = Field(description="null when the input sits within h of a kink.")
    near_kink: bool = Field(description="The input is within h of a kink, where it may differ.")
    status: Literal["pass", "fail", "kink", "not finite"] = Field(
        description="The verdict in one word."
    )
    reason: str | None = Field(
        None, description="Why some entries were not compared (a non-finite gradient)."
    )


class GradcheckOut(BaseModel):
    """The gradient check: every input's analytic gradient against centred differences."""

    h: float = Field(description="The centred-difference step used.")
    tolerance: float = Field(description="The largest relative error that passes.")
    passed: bool = Field(description="Every compared input passed.")
    inputs: list[GradcheckInput] = Field(description="One entry per differentiable input.")


class NonFiniteWarning(BaseModel):
    """The first gate that produced a non-finite number of one kind, in one pass."""

    # `pass` is a Python keyword: the attribute is pass_, the wire name (both ways) is "pass"
    model_config = ConfigDict(validate_by_name=True, serialize_by_alias=True)

    node: str = Field(description="The gate's node id.")
    pass_: Literal["forward", "backward"] = Field(
        alias="pass", description="The pass in which it appeared."
    )
    value: NonFinite = Field(description="The kind of number produced.")
    msg: str = Field(description="The warning in words, naming the gate.")


class LeftOutWarning(BaseModel):
    """A stage or an input that does not feed the output, so the circuit leaves it out."""

    node: None = Field(description="Always null: the part left out is not in the circuit.")
    msg: str = Field(description="The warning in words, naming the stage and its line.")


# Tried in order; they differ in `node` (null for a part left out), so one matches.
CircuitWarning = NonFiniteWarning | LeftOutWarning


class CircuitStats(BaseModel):
    """The circuit's size and how it was run."""

    gates: int = Field(description="The number of gate nodes.")
    nodes: int = Field(description="The number of nodes (inputs, constants and gates).")
    fast_path: bool = Field(description="The scalar fast path ran (no numpy per gate).")


class EvaluateResponse(BaseModel):
    """The verbose answer: every wire's value and gradient, and every backward step."""

    expression: str = Field(description="The expression as received.")
    output: OutputOut = Field(description="The output's value and node.")
    inputs: list[str] = Field(description="Input names in first-use order.")
    nodes: list[NodeOut] = Field(description="Every node, in creation order (inputs first).")
    edges: list[EdgeOut] = Field(description="Every wire, with its value and contribution.")
    forward: list[str] = Field(description="Node ids in the order the forward pass runs.")
    backward: list[StepOut] = Field(description="The backward steps in the order they run.")
    gradients: dict[str, Value] = Field(description="The output's gradient per input name.")
    warnings: list[CircuitWarning] = Field(
        description="Where non-finite numbers first appeared, and what was left out."
    )
    stats: CircuitStats = Field(description="The circuit's size.")
    gradcheck: GradcheckOut | None = Field(description="The gradient check; null unless asked.")
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
    value: list[Value] = Field(description="Each node's forward value.")
    grad: list[Value] = Field(description="Each node's gradient.")
    shape: dict[str, list[int]] = Field(description="Shapes of non-scalar nodes, by index.")
    label: list[int] = Field(description="The first stage name (in `strings`), -1 none.")
    labels: dict[str, list[int]] = Field(
        description="All stage names (in `strings`) of nodes that have more than one."
    )
    param: dict[str, Param] = Field(description="Gate parameters (axis, exponent), by index.")


# A compact kink: [kind, convention] as indexes into `strings`, the interval, the count.
CompactKink = tuple[int, int, list[list[Number]], int]


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
    kink: dict[str, CompactKink] = Field(
        description="By step: kind and convention (in `strings`), interval, count."
    )
    rule: list[int] = Field(description="The caption template of each step.")
    slots: list[int] = Field(description="Every step's slot texts (in `strings`), in order.")


class GateFormula(BaseModel):
    """How a gate used in the circuit is drawn and differentiated."""

    symbol: str = Field(description="The gate's symbol.")
    formula: str = Field(description="Its local derivative as a formula.")


class CompactEvaluateResponse(BaseModel):
    """The same answer as EvaluateResponse, columnar; README 'The compact answer'."""

    format: Literal["compact"] = Field(description="Always compact: tells the two answers apart.")
    version: int = Field(description="The compact format's version.")
    expression: str | None = Field(
        None,
        description="The expression as received; absent when the request's echo_expression is "
        "false (spans point into the request's expression either way).",
    )
    inputs: list[str] = Field(description="Input names in first-use order.")
    index_inputs: list[str] = Field(description="Inputs used as an index (not differentiated).")
    output: int = Field(description="The output node's index.")
    output_grad: Number = Field(description="The gradient seeded at the output.")
    strings: list[str] = Field(description="Every distinct text; other fields index into it.")
    gates: dict[str, GateFormula] = Field(description="symbol and formula of each gate used.")
    nodes: CompactNodes = Field(description="The nodes, as columns.")
    steps: CompactSteps = Field(description="The backward steps, as columns.")
    templates: list[str] = Field(description='Caption texts with "{}" where a slot goes.')
    warnings: list[CircuitWarning] = Field(
        description="Where non-finite numbers first appeared, and what was left out."
    )
    stats: CircuitStats = Field(description="The circuit's size.")
    gradcheck: GradcheckOut | None = Field(description="The gradient check; null unless asked.")


class ArityRange(BaseModel):
    """A variadic gate's number of inputs."""

    min: int = Field(description="The fewest inputs.")
    max: int | None = Field(description="The most inputs; null for no limit.")


class GateOut(BaseModel):
    """One row of the gate table."""

    name: str = Field(description="The gate's name (the `op` of nodes and steps).")
    symbol: str = Field(description="What the diagram draws.")
    arity: int | ArityRange = Field(description="How many inputs it takes.")
    derivative: str = Field(description="Its local derivatives as formulas.")
    rule: str = Field(description="The backward rule in the course's words.")


class GatesResponse(BaseModel):
    """The gate table."""

    gates: list[GateOut] = Field(description="Every gate, in table order.")


class PresetExpected(BaseModel):
    """What a preset's circuit gives, as checked by the tests (or by start-up, for a teacher's)."""

    output: Value | None = Field(None, description="The output's value (nested lists: a tensor).")
    gradients: dict[str, Value] | None = Field(
        None, description="Inputs' gradients by name, as `gradients` in the answer."
    )
    grads: dict[str, Value] | None = Field(
        None,
        description="Deprecated: the same as `gradients` (the name a presets file uses).",
        json_schema_extra=DEPRECATED,
    )
    grad_shapes: dict[str, list[int]] | None = Field(
        None, description="Tensor inputs' gradient shapes by name."
    )
    tolerance: float | None = Field(
        None,
        description="A teacher preset's relative tolerance: |got - want| <= tolerance * "
        "max(1, |want|) (default 1e-9).",
    )

    @model_validator(mode="before")
    @classmethod
    def _gradients_beside_grads(cls, data: Any) -> Any:
        # one vocabulary: answers say `gradients`; `grads` stays for v1 callers
        if isinstance(data, dict) and "grads" in data and "gradients" not in data:
            return {**data, "gradients": data["grads"]}
        return data


class Preset(BaseModel):
    """An example circuit with its inputs and expected values."""

    id: str = Field(description="A stable id.")
    title: str = Field(description="A short title for a menu.")
    description: str = Field(description="What the example shows.")
    expression: str = Field(description="The circuit, for POST /api/v1/circuits/evaluate.")
    inputs: InputValues = Field(description="Its inputs: numbers or nested lists.")
    expected: PresetExpected | None = Field(None, description="What it gives; null if unchecked.")
    source: Literal["built-in", "teacher"] = Field(
        "built-in", description="built-in, or teacher (from BPC_PRESETS_FILE)."
    )


class PresetsResponse(BaseModel):
    """The examples: the course's first, then any teacher presets."""

    presets: list[Preset] = Field(description="Every preset.")
