"""Data nodes: `variable_assigner`, `template_jinja`, `json_transform`, `text_splitter`."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from orbiter.workflows.nodes.base import NodeCall, NodeConfig, NodeType, register


class VariableAssignerConfig(NodeConfig):
    variables: dict[str, Any] = Field(min_length=1, description="Names and values, set in `vars`")


async def run_variable_assigner(call: NodeCall) -> Any:
    raise NotImplementedError


class TemplateJinjaConfig(NodeConfig):
    template: str = Field(min_length=1, max_length=100_000)


async def run_template_jinja(call: NodeCall) -> Any:
    raise NotImplementedError


class JsonTransformConfig(NodeConfig):
    expression: str = Field(min_length=1, max_length=10_000, description="A JMESPath expression")
    data: Any = Field(default="{{ input }}", description="What the expression reads")


async def run_json_transform(call: NodeCall) -> Any:
    raise NotImplementedError


class TextSplitterConfig(NodeConfig):
    text: str = Field(default="{{ input }}", max_length=10_000_000)
    unit: Literal["characters", "tokens"] = "characters"
    chunk_size: int = Field(default=1000, ge=1, le=1_000_000)
    chunk_overlap: int = Field(default=0, ge=0, le=1_000_000)


async def run_text_splitter(call: NodeCall) -> Any:
    raise NotImplementedError


register(
    NodeType(
        "variable_assigner",
        "data",
        "Set variables (`vars.name`) for later nodes",
        VariableAssignerConfig,
        run_variable_assigner,
    )
)
register(
    NodeType(
        "template_jinja",
        "data",
        "Render a Jinja template to text",
        TemplateJinjaConfig,
        run_template_jinja,
        raw_fields=frozenset({"template"}),
    )
)
register(
    NodeType(
        "json_transform",
        "data",
        "Reshape JSON with a JMESPath expression",
        JsonTransformConfig,
        run_json_transform,
        raw_fields=frozenset({"expression"}),
    )
)
register(
    NodeType(
        "text_splitter",
        "data",
        "Split text into overlapping chunks",
        TextSplitterConfig,
        run_text_splitter,
    )
)
