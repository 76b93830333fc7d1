"""JSON Schema for tool inputs (`jsonschema`): a custom tool's `input_schema` must be a valid
schema (checked against its draft's meta-schema; Draft 2020-12 unless `$schema` says
otherwise) describing an object, and every input is validated against it."""

from __future__ import annotations

import json
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from jsonschema.validators import validator_for

from orbiter.core.errors import ValidationFailed

MAX_SCHEMA_CHARS = 64 * 1024
MAX_INPUT_ERRORS = 20


def _where(path: Any) -> str:
    return "/".join(str(part) for part in path)


def check_input_schema(schema: dict[str, Any]) -> None:
    """422 on `input_schema` naming the problem when `schema` is not a usable tool schema."""
    if len(json.dumps(schema)) > MAX_SCHEMA_CHARS:
        raise _schema_error(f"The schema is larger than {MAX_SCHEMA_CHARS} characters of JSON")
    validator = validator_for(schema, default=Draft202012Validator)
    try:
        validator.check_schema(schema)
    except SchemaError as exc:
        where = _where(exc.path)
        raise _schema_error(
            f"Not a valid JSON Schema: {exc.message}" + (f" (at {where})" if where else "")
        ) from exc
    if schema.get("type") != "object":
        raise _schema_error(
            'A tool\'s input is an object: the schema needs "type": "object" '
            '(with its "properties")'
        )


def _schema_error(message: str) -> ValidationFailed:
    return ValidationFailed.for_field("input_schema", message, "invalid_schema")


def input_problems(schema: dict[str, Any], value: Any) -> list[dict[str, str]]:
    """Each way `value` breaks `schema`, as `{field, message, type}` (field under `input`)."""
    validator = validator_for(schema, default=Draft202012Validator)(schema)
    problems = []
    for error in sorted(validator.iter_errors(value), key=lambda e: list(e.path)):
        where = ".".join(str(part) for part in error.path)
        problems.append(
            {
                "field": f"input.{where}" if where else "input",
                "message": error.message,
                "type": f"schema_{error.validator}",
            }
        )
        if len(problems) >= MAX_INPUT_ERRORS:
            break
    return problems


def validate_input(schema: dict[str, Any], value: Any) -> None:
    """422 listing every problem of `value` against `schema`."""
    problems = input_problems(schema, value)
    if problems:
        raise ValidationFailed(
            f"The input does not match the tool's input_schema: {problems[0]['message']}",
            details={"fields": problems},
        )
