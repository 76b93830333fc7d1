"""A node's settings as its runner sees them: the common settings apart, its own config
rendered with the run's variables and validated by its type's model."""

from __future__ import annotations

import types
import typing
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from orbiter.workflows.canvas import NodeSettings
from orbiter.workflows.nodes.base import NodeError, NodeType
from orbiter.workflows.templates import render, render_text

NOT_CONFIG = frozenset({"nodeType", "label", *NodeSettings.model_fields, "fallback_value"})


def node_settings(data: Mapping[str, Any]) -> NodeSettings:
    return NodeSettings.model_validate(dict(data))


def rendered_config(
    node_type: NodeType, data: Mapping[str, Any], variables: Mapping[str, Any]
) -> Any:
    """Defaults filled in first (they may be templates too), then each field rendered: as text
    when the field is a string, as a value otherwise; `raw_fields` as written."""
    model = node_type.config
    own = {k: v for k, v in data.items() if k not in NOT_CONFIG}
    try:
        filled = model.model_validate(own).model_dump(mode="json")
        for name, value in filled.items():
            if name in node_type.raw_fields:
                continue
            field = model.model_fields.get(name)
            if isinstance(value, str) and field is not None and _is_text(field.annotation):
                filled[name] = render_text(value, variables) if "{" in value else value
            else:
                filled[name] = render(value, variables)
        return model.model_validate(filled)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'config'}: {e['msg']}" for e in exc.errors()
        )
        raise NodeError(f"Invalid settings after rendering: {problems}", "INVALID_CONFIG") from exc


def _is_text(annotation: Any) -> bool:
    if annotation is str:
        return True
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return args == [str]
    return False
