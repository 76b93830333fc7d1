"""What a node type is: its config model, its handles, and the function that does its work.

Each node type module registers its types at import (`register(NodeType(...))`); `REGISTRY`
is what save-time validation, `GET /workflows/node-types` and the executor read.

A runner gets a `NodeCall`: the node's config, validated by its model after every string in
it was rendered with the run's variables (a string that is one `{{ expression }}` becomes the
expression's value, a list stays a list; fields named in `raw_fields` are left as written), the
value that arrived on its input, and the run. It returns the node's output (JSON), or
`Routed(output, handles)` to send it down some of its output handles only. A node fails by
raising `NodeError` (or anything else); retries and `on_error` then apply.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict

from orbiter.workflows.errors import NodeError as NodeError  # runners import it from here

if TYPE_CHECKING:
    from orbiter.runs.engine import RunContext, SpanHandle

Category = Literal["trigger", "ai", "tool", "logic", "data", "knowledge", "output"]


class NodeConfig(BaseModel):
    """A node type's own settings, read from the node's `data`. Keys it does not know are the
    editor's (`label`, UI state) or the common settings (`retry_count`...), and are ignored."""

    model_config = ConfigDict(extra="ignore")


@dataclass(frozen=True)
class Routed:
    """Send `output` down these output handles only; the branches behind the others are
    skipped."""

    output: Any
    handles: frozenset[str]


@dataclass
class NodeCall:
    ctx: RunContext
    node_id: str
    node_type: str
    config: Any  # an instance of the type's config model
    input: Any  # one parent's output, or {parent id: output} when several arrived
    variables: Mapping[str, Any]  # what templates see (see workflows.templates)
    span: SpanHandle  # this attempt's span: set `span.output`, or count LLM usage on it
    attempt: int = 1


NodeRunner = Callable[[NodeCall], Awaitable[Any]]


@dataclass(frozen=True)
class NodeType:
    name: str
    category: Category
    description: str
    config: type[NodeConfig]
    run: NodeRunner
    inputs: tuple[str, ...] = ("input",)  # () for triggers
    outputs: tuple[str, ...] = ("output",)
    raw_fields: frozenset[str] = field(default_factory=frozenset)
    # Output handles decided by the config (a switch's cases); None: `outputs` are fixed.
    dynamic_outputs: Callable[[Any], tuple[str, ...]] | None = None

    @property
    def is_trigger(self) -> bool:
        return self.category == "trigger"

    def output_handles(self, config: Any) -> tuple[str, ...]:
        return self.dynamic_outputs(config) if self.dynamic_outputs else self.outputs


REGISTRY: dict[str, NodeType] = {}


def register(node_type: NodeType) -> NodeType:
    REGISTRY[node_type.name] = node_type
    return node_type
