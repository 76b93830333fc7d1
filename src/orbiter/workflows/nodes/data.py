"""Data nodes: `variable_assigner`, `template_jinja`, `json_transform`, `text_splitter`.

`json_transform` runs JMESPath (the `jmespath` library); its expression is compiled when the
workflow is saved, so a typo or an unknown function is a 422 naming the node, not a failed run.
`text_splitter` uses `semantic-text-splitter`: chunks are filled up to `chunk_size` (characters,
or tokens of an OpenAI encoding whose data the package carries, so nothing is downloaded) and
cut at the largest boundary that fits: paragraphs, then lines, sentences, words, characters.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from functools import lru_cache
from typing import Any, Literal

import jmespath
from jmespath.exceptions import JMESPathError
from jmespath.functions import Functions
from jmespath.parser import ParsedResult
from pydantic import Field, field_validator, model_validator
from semantic_text_splitter import TextSplitter

from orbiter.workflows.nodes.base import NodeCall, NodeConfig, NodeError, NodeType, register
from orbiter.workflows.templates import render_text


class VariableAssignerConfig(NodeConfig):
    variables: dict[str, Any] = Field(
        min_length=1,
        max_length=100,
        description="Names (identifiers) and values, each rendered, set in `vars` for the "
        "nodes after this one: `{{ vars.name }}`",
    )

    @field_validator("variables")
    @classmethod
    def _identifiers(cls, variables: dict[str, Any]) -> dict[str, Any]:
        bad = [name for name in variables if not _is_identifier(name)]
        if bad:
            raise ValueError(f"variable names must be identifiers (letters, digits, _): {bad}")
        return variables


def _is_identifier(name: str) -> bool:
    return name.isidentifier() and name.isascii() and len(name) <= 100


async def run_variable_assigner(call: NodeCall) -> Any:
    return dict(call.config.variables)


class TemplateJinjaConfig(NodeConfig):
    template: str = Field(
        min_length=1,
        max_length=100_000,
        description="A Jinja template rendered to text (sandboxed); sees `input`, `inputs`, "
        "`vars` and every finished node by id",
    )


async def run_template_jinja(call: NodeCall) -> str:
    return render_text(call.config.template, call.variables)


class JsonTransformConfig(NodeConfig):
    expression: str = Field(
        min_length=1,
        max_length=10_000,
        description="A JMESPath expression (jmespath.org), e.g. `items[?price > `10`].name`",
    )
    data: Any = Field(default="{{ input }}", description="What the expression reads")

    @field_validator("expression")
    @classmethod
    def _compiles(cls, expression: str) -> str:
        compile_jmespath(expression)
        return expression


@lru_cache(maxsize=512)
def compile_jmespath(expression: str) -> ParsedResult:
    """The compiled expression; ValueError naming it when it does not parse or calls a
    function JMESPath does not have."""
    try:
        parsed = jmespath.compile(expression)
    except JMESPathError as exc:
        raise ValueError(f"JMESPath expression {expression!r}: {exc}") from None
    unknown = sorted(_functions(parsed.parsed) - _KNOWN_FUNCTIONS)
    if unknown:
        raise ValueError(f"JMESPath expression {expression!r}: unknown function {unknown[0]}()")
    return parsed


_KNOWN_FUNCTIONS = frozenset(Functions.FUNCTION_TABLE)


def _functions(node: Mapping[str, Any]) -> set[str]:
    found = {str(node["value"])} if node.get("type") == "function_expression" else set()
    for child in node.get("children", []):
        if isinstance(child, dict):
            found |= _functions(child)
    return found


async def run_json_transform(call: NodeCall) -> Any:
    expression = call.config.expression
    try:
        return compile_jmespath(expression).search(call.config.data)
    except (JMESPathError, ValueError) as exc:
        raise NodeError(f"JMESPath expression {expression!r}: {exc}", "TRANSFORM_ERROR") from exc


Encoding = Literal["o200k_base", "cl100k_base"]
# A model of each encoding: the package looks its tokenizer up by model name.
_ENCODING_MODEL: dict[str, str] = {"o200k_base": "gpt-4o", "cl100k_base": "gpt-4"}


class TextSplitterConfig(NodeConfig):
    text: str = Field(default="{{ input }}", max_length=10_000_000, description="Text to split")
    unit: Literal["characters", "tokens"] = Field(
        default="characters", description="What `chunk_size` and `chunk_overlap` count"
    )
    chunk_size: int = Field(default=1000, ge=1, le=1_000_000, description="Most units a chunk has")
    chunk_overlap: int = Field(
        default=0,
        ge=0,
        le=1_000_000,
        description="Most units a chunk repeats from the end of the one before",
    )
    encoding: Encoding = Field(
        default="o200k_base",
        description="With unit `tokens`: the OpenAI BPE encoding that counts them (o200k_base: "
        "GPT-4o and later; cl100k_base: GPT-4, GPT-3.5), bundled, never downloaded",
    )

    @model_validator(mode="after")
    def _overlap_below_size(self) -> TextSplitterConfig:
        if self.chunk_overlap >= self.chunk_size:
            raise ValueError("chunk_overlap must be smaller than chunk_size")
        return self


@lru_cache(maxsize=32)
def _splitter(unit: str, encoding: str, size: int, overlap: int) -> TextSplitter:
    if unit == "tokens":
        return TextSplitter.from_tiktoken_model(_ENCODING_MODEL[encoding], size, overlap)
    return TextSplitter(size, overlap)


def split_text(config: TextSplitterConfig) -> list[str]:
    """The chunks, whitespace around each trimmed; no chunk for blank text."""
    splitter = _splitter(config.unit, config.encoding, config.chunk_size, config.chunk_overlap)
    return list(splitter.chunks(config.text))


async def run_text_splitter(call: NodeCall) -> list[str]:
    # Splitting megabytes of text takes a while: off the event loop, so other nodes go on.
    return await asyncio.to_thread(split_text, call.config)


register(
    NodeType(
        "variable_assigner",
        "data",
        "Set variables (`vars.name`) for later nodes; outputs them",
        VariableAssignerConfig,
        run_variable_assigner,
    )
)
register(
    NodeType(
        "template_jinja",
        "data",
        "Render a Jinja template (sandboxed) to text",
        TemplateJinjaConfig,
        run_template_jinja,
        raw_fields=frozenset({"template"}),
    )
)
register(
    NodeType(
        "json_transform",
        "data",
        "Reshape JSON with a JMESPath expression (checked when the workflow is saved)",
        JsonTransformConfig,
        run_json_transform,
        raw_fields=frozenset({"expression"}),
    )
)
register(
    NodeType(
        "text_splitter",
        "data",
        "Split text into chunks of at most `chunk_size` characters or tokens, overlapping by "
        "up to `chunk_overlap`, cut at paragraph, sentence or word boundaries when they fit; "
        "outputs the list of chunks",
        TextSplitterConfig,
        run_text_splitter,
    )
)
