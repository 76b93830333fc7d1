"""Outputs: `chat_response` (the reply of a chat-started run), `api_response` (what a webhook
caller or an API client gets back).

The executor makes the first `api_response` reached the run's output (else a `chat_response`'s
message). An `api_response`'s headers are checked when the workflow is saved: names must be
HTTP tokens, values single lines, and the headers the server itself owns are refused: the
hop-by-hop ones (`Connection`, `Transfer-Encoding`, ...), the framing of the body
(`Content-Length`, `Content-Encoding`), and `Set-Cookie`, since a workflow answering on the
API's origin must not set or overwrite cookies of the people who sign in there.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import Field, field_validator

from orbiter.workflows.nodes.base import NodeCall, NodeConfig, NodeType, register

_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,100}$")  # RFC 9110 field name
_BAD_VALUE = re.compile(r"[\r\n\x00]")
FORBIDDEN_HEADERS = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "content-length",
        "content-encoding",
        "set-cookie",
    }
)


class ChatResponseConfig(NodeConfig):
    message: str = Field(
        default="{{ input }}",
        max_length=100_000,
        description="The reply (rendered as text)",
    )


async def run_chat_response(call: NodeCall) -> dict[str, str]:
    return {"message": call.config.message}


class ApiResponseConfig(NodeConfig):
    status_code: int = Field(default=200, ge=200, le=599)
    body: Any = Field(default="{{ input }}", description="Sent as JSON")
    headers: dict[str, str] = Field(
        default_factory=dict,
        max_length=50,
        description="Extra response headers; hop-by-hop ones, Content-Length, "
        "Content-Encoding and Set-Cookie are refused",
    )

    @field_validator("headers", mode="before")
    @classmethod
    def _values_as_text(cls, headers: Any) -> Any:
        """A value rendered from `{{ inputs.n }}` may be a number: a header is its text."""
        if not isinstance(headers, dict):
            return headers
        return {name: _scalar_text(value) for name, value in headers.items()}

    @field_validator("headers")
    @classmethod
    def _allowed_headers(cls, headers: dict[str, str]) -> dict[str, str]:
        lowered = [name.lower() for name in headers]
        if len(set(lowered)) != len(lowered):
            raise ValueError("header names must differ by more than their case")
        for name, value in headers.items():
            if not _TOKEN.match(name):
                raise ValueError(f"header name {name!r} is not a valid HTTP field name")
            if name.lower() in FORBIDDEN_HEADERS:
                raise ValueError(f"header {name!r} is set by the server and cannot be chosen")
            if _BAD_VALUE.search(value) or len(value) > 8000:
                raise ValueError(f"header {name!r}: one line of at most 8000 characters")
        return headers


def _scalar_text(value: Any) -> Any:
    if value is None:
        return ""
    return json.dumps(value) if isinstance(value, bool | int | float) else value


async def run_api_response(call: NodeCall) -> dict[str, Any]:
    config: ApiResponseConfig = call.config
    return {"status_code": config.status_code, "body": config.body, "headers": config.headers}


register(
    NodeType(
        "chat_response",
        "output",
        "The run's reply in the chat: outputs `{message}`",
        ChatResponseConfig,
        run_chat_response,
        outputs=(),
    )
)
register(
    NodeType(
        "api_response",
        "output",
        "The run's answer to its caller: outputs `{status_code, body, headers}`",
        ApiResponseConfig,
        run_api_response,
        outputs=(),
    )
)
