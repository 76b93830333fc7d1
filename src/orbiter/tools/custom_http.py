"""Custom tools of type `http`: their stored configuration, and running one.

Stored `config`: `{method, url, headers: [{name, value, secret: false} | {name, secret: true,
last4}], body_template, timeout_seconds}`; the secret values live sealed beside it
(`tools/secrets.py`). The URL is an RFC 6570 template (`uritemplate`) filled from the input,
whose scheme and host are fixed at save time and checked by the SSRF guard then and at every
connection.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from pydantic import ValidationError
from uritemplate import URITemplate

from orbiter.core.errors import ValidationFailed
from orbiter.core.outbound import check_url
from orbiter.core.settings import Settings
from orbiter.models import Tool
from orbiter.tools.base import RunnableTool, ToolContext, ToolFunction
from orbiter.tools.http_fetch import fetch
from orbiter.tools.schemas import HttpToolConfig
from orbiter.tools.secrets import last4, masked

BODY_METHODS = ("POST", "PUT", "PATCH")
_PLACEHOLDER = r"\{\{\s*([A-Za-z0-9_-]+)\s*\}\}"


def parse_config(raw: dict[str, Any]) -> HttpToolConfig:
    """The http configuration, or 422 naming each bad field under `config`."""
    try:
        return HttpToolConfig.model_validate(raw)
    except ValidationError as exc:
        raise ValidationFailed(
            "Invalid http tool configuration", details={"fields": config_problems(exc)}
        ) from exc


def config_problems(exc: ValidationError) -> list[dict[str, Any]]:
    """Each problem of a tool's configuration, its field under `config`."""
    return [
        {
            "field": ".".join(["config", *(str(p) for p in error["loc"])]),
            "message": error["msg"],
            "type": error["type"],
        }
        for error in exc.errors()
    ]


async def check_config(
    config: HttpToolConfig, input_schema: dict[str, Any], settings: Settings
) -> None:
    """The URL's scheme and host are fixed and allowed; its variables are input properties."""
    parts = urlsplit(config.url)
    if "{" in parts.scheme + parts.netloc or "}" in parts.scheme + parts.netloc:
        raise ValidationFailed.for_field(
            "config.url", "The scheme and host must be fixed; only the path and query can vary"
        )
    template = URITemplate(config.url)
    properties = set((input_schema.get("properties") or {}).keys())
    unknown = sorted(set(template.variable_names) - properties)
    if unknown:
        raise ValidationFailed.for_field(
            "config.url", f"The URL uses {', '.join(unknown)}, not properties of input_schema"
        )
    await check_url(template.expand({}), settings, field="config.url")


def stored_config(
    config: HttpToolConfig, kept_secrets: dict[str, str]
) -> tuple[dict[str, Any], dict[str, str]]:
    """What is stored in `config` and the secret values to seal. A secret header sent without
    a value keeps the value stored under its name."""
    headers: list[dict[str, Any]] = []
    secrets: dict[str, str] = {}
    kept = {name.lower(): value for name, value in kept_secrets.items()}
    for index, header in enumerate(config.headers):
        value = header.value
        if header.secret and value is None:
            value = kept.get(header.name.lower())
        if value is None:
            raise ValidationFailed.for_field(
                f"config.headers.{index}.value", f"Header {header.name!r} needs a value"
            )
        if header.secret:
            secrets[header.name] = value
            headers.append({"name": header.name, "secret": True, "last4": last4(value)})
        else:
            headers.append({"name": header.name, "value": value, "secret": False})
    stored = config.model_dump(mode="json", exclude={"headers"})
    stored["headers"] = headers
    return stored, secrets


def shown_config(config: dict[str, Any]) -> dict[str, Any]:
    """The stored configuration as the API shows it: secret values masked."""
    headers = [
        {"name": h["name"], "value": masked(h.get("last4")), "secret": True}
        if h.get("secret")
        else {"name": h["name"], "value": h.get("value"), "secret": False}
        for h in config.get("headers", [])
    ]
    return {**config, "headers": headers}


def render(template: Any, values: dict[str, Any]) -> Any:
    """`"{{name}}"` alone becomes the value itself; inside a longer string, its text."""
    if isinstance(template, str):
        whole = re.fullmatch(_PLACEHOLDER, template)
        if whole:
            return values.get(whole.group(1))
        return re.sub(_PLACEHOLDER, lambda m: _text(values.get(m.group(1))), template)
    if isinstance(template, list):
        return [render(item, values) for item in template]
    if isinstance(template, dict):
        return {key: render(item, values) for key, item in template.items()}
    return template


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def runnable(tool: Tool, secrets: dict[str, str]) -> RunnableTool:
    config = dict(tool.config)
    plain = {h["name"]: h["value"] for h in config.get("headers", []) if not h.get("secret")}
    method = str(config.get("method", "GET"))
    timeout = float(config.get("timeout_seconds", 15))

    async def run(context: ToolContext, arguments: dict[str, Any]) -> dict[str, Any]:
        variables: dict[str, Any] = {
            k: v for k, v in arguments.items() if isinstance(v, str | int | float)
        }
        body = None
        if method in BODY_METHODS:
            template = config.get("body_template")
            body = arguments if template is None else render(template, arguments)
        return await fetch(
            context.resources.settings,
            method=method,
            url=URITemplate(str(config["url"])).expand(variables),
            headers={**plain, **secrets},
            body=body,
            seconds=timeout,
        )

    return as_runnable(tool, run, timeout + 5)


def as_runnable(tool: Tool, run: ToolFunction, timeout_seconds: float) -> RunnableTool:
    """A custom tool's row with the function that runs it."""
    return RunnableTool(
        id=str(tool.id),
        name=tool.name,
        description=tool.description,
        input_schema=dict(tool.input_schema),
        run=run,
        timeout_seconds=timeout_seconds,
    )
