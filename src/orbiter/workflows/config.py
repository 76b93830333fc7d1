"""A node's settings as its runner sees them: the common settings apart, its own config
rendered with the run's variables and validated by its type's model."""

from __future__ import annotations

import types
import typing
from collections.abc import Mapping
from functools import cache
from typing import Any

from pydantic import BaseModel, ValidationError

from orbiter.workflows.canvas import NOT_CONFIG, NodeSettings
from orbiter.workflows.nodes.base import NodeError, NodeType
from orbiter.workflows.templates import render, render_text


def node_settings(data: Mapping[str, Any]) -> NodeSettings:
    return NodeSettings.model_validate(dict(data))


def rendered_config(
    node_type: NodeType, data: Mapping[str, Any], variables: Mapping[str, Any]
) -> Any:
    """Each field rendered, template defaults included: as text when the field is a string, as
    a value otherwise; `raw_fields` as written. Then validated, once."""
    model = node_type.config
    own = {k: v for k, v in data.items() if k not in NOT_CONFIG}
    values = {**_template_defaults(model), **own}
    try:
        for name, value in values.items():
            field = model.model_fields.get(name)
            if name in node_type.raw_fields or field is None:  # as written; the editor's own
                continue
            if isinstance(value, str) and _is_text(field.annotation):
                values[name] = render_text(value, variables) if "{" in value else value
            else:
                values[name] = render(value, variables)
        return model.model_validate(values)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'config'}: {e['msg']}" for e in exc.errors()
        )
        raise NodeError(f"Invalid settings after rendering: {problems}", "INVALID_CONFIG") from exc


@cache
def _template_defaults(model: type[BaseModel]) -> dict[str, str]:
    """Defaults that are templates (`{{ input }}`): rendered like values that were sent."""
    return {
        name: field.default
        for name, field in model.model_fields.items()
        if isinstance(field.default, str) and "{{" in field.default
    }


def _is_text(annotation: Any) -> bool:
    if annotation is str:
        return True
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return args == [str]
    return False
