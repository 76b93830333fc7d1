"""Logic nodes: `conditional`, `switch` (route through handles), `loop_iterator` (a body run
per item; the executor runs it), `aggregator` (join what arrived), `approval_gate` (the run
waits for a decision; the executor pauses it)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from orbiter.workflows.nodes.base import NodeCall, NodeConfig, NodeType, Routed, register
from orbiter.workflows.templates import evaluate

TRUE, FALSE = "output-true", "output-false"
SWITCH_DEFAULT = "default"
LOOP_BODY, LOOP_DONE = "body", "done"

Expression = Field(
    min_length=1,
    max_length=2000,
    description="A Jinja expression over the run's variables, without braces: "
    "`input.score > 0.5`, `inputs.kind`",
)


class ConditionalConfig(NodeConfig):
    condition: str = Expression


async def run_conditional(call: NodeCall) -> Routed:
    taken = TRUE if evaluate(call.config.condition, call.variables) else FALSE
    return Routed(call.input, frozenset({taken}))


class SwitchCase(NodeConfig):
    handle: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.:-]+$")
    equals: Any = Field(description="The value that takes this handle")


class SwitchConfig(NodeConfig):
    value: str = Expression
    cases: list[SwitchCase] = Field(min_length=1, max_length=50)

    @model_validator(mode="after")
    def _distinct_handles(self) -> SwitchConfig:
        handles = [case.handle for case in self.cases]
        if len(set(handles)) != len(handles) or SWITCH_DEFAULT in handles:
            raise ValueError(f'case handles must be distinct and not "{SWITCH_DEFAULT}"')
        return self


async def run_switch(call: NodeCall) -> Routed:
    value = evaluate(call.config.value, call.variables)
    taken = next((c.handle for c in call.config.cases if c.equals == value), SWITCH_DEFAULT)
    return Routed(call.input, frozenset({taken}))


def switch_handles(config: SwitchConfig) -> tuple[str, ...]:
    """One output handle per case (its `handle`, in the order of `cases`), then `default`."""
    return (*(case.handle for case in config.cases), SWITCH_DEFAULT)


class LoopConfig(NodeConfig):
    items: Any = Field(
        default="{{ input }}",
        description="The list to iterate over, usually one expression: `{{ inputs.files }}`",
    )
    max_items: int = Field(default=100, ge=1, le=10_000, description="More items fail the node")
    concurrency: int = Field(default=1, ge=1, le=50, description="Items run at the same time")


async def run_loop(call: NodeCall) -> Any:  # pragma: no cover - the executor runs loops
    raise AssertionError("loop_iterator is run by the executor")


class AggregatorConfig(NodeConfig):
    mode: Literal["object", "list", "merge", "concat"] = Field(
        default="object",
        description="object: {node id: output}; list: outputs in edge order; merge: objects "
        "merged; concat: text joined by `separator`",
    )
    separator: str = Field(default="\n", max_length=100)


async def run_aggregator(call: NodeCall) -> Any:
    arrived: dict[str, Any] = call.variables.get("arrived", {})
    if call.config.mode == "object":
        return dict(arrived)
    values = list(arrived.values())
    if call.config.mode == "list":
        return values
    if call.config.mode == "merge":
        merged: dict[str, Any] = {}
        for value in values:
            if isinstance(value, dict):
                merged.update(value)
        return merged
    return call.config.separator.join("" if v is None else str(v) for v in values)


class ApprovalConfig(NodeConfig):
    message: str = Field(
        default="Approve to continue", max_length=4000, description="What the approver reads"
    )
    payload: Any = Field(
        default="{{ input }}",
        description="What the approver sees and may edit; the node's output after approval",
    )


async def run_approval(call: NodeCall) -> Any:  # pragma: no cover - the executor pauses
    raise AssertionError("approval_gate is run by the executor")


register(
    NodeType(
        "conditional",
        "logic",
        "Send the input down `output-true` or `output-false` by a condition",
        ConditionalConfig,
        run_conditional,
        outputs=(TRUE, FALSE),
        raw_fields=frozenset({"condition"}),
    )
)
register(
    NodeType(
        "switch",
        "logic",
        "Send the input down the handle of the first case equal to a value, else `default`",
        SwitchConfig,
        run_switch,
        outputs=(SWITCH_DEFAULT,),
        raw_fields=frozenset({"value"}),
        dynamic_outputs=switch_handles,
    )
)
register(
    NodeType(
        "loop_iterator",
        "logic",
        "Run the nodes behind `body` once per item (as `item`, `index`); an edge from the "
        "body back to the loop marks each item's result; `done` gets the results in order",
        LoopConfig,
        run_loop,
        inputs=("input", "loop"),
        outputs=(LOOP_BODY, LOOP_DONE),
    )
)
register(
    NodeType(
        "aggregator",
        "logic",
        "Join what arrived from several branches (skipped branches are left out)",
        AggregatorConfig,
        run_aggregator,
    )
)
register(
    NodeType(
        "approval_gate",
        "logic",
        "Pause the run as `awaiting_approval` until POST /runs/{id}/approve or /reject; "
        "outputs the approved (possibly edited) payload",
        ApprovalConfig,
        run_approval,
    )
)
