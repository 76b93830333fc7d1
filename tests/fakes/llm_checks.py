"""The request-shape checks the real LLM APIs make, so the fakes refuse what they refuse.

Each function returns the error message of the real API's 400 `invalid_request_error`, or
None when the body would be accepted. Tool calling is checked too: tool names, Anthropic's
object `input_schema`, and calls paired with their results (OpenAI: the `tool` messages right
after the assistant's `tool_calls` answer each call; Anthropic: each `tool_use` answered by a
`tool_result` first in the next user turn, and no `tool_result` without its `tool_use`). The messages follow the real ones closely enough for a
reader to recognise them; tests assert on status and type, not on wording.
"""

from __future__ import annotations

import re
from typing import Any

TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
OPENAI_ROLES = ("system", "developer", "user", "assistant", "tool", "function")
ANTHROPIC_ROLES = ("user", "assistant")


def openai_problem(body: Any) -> tuple[str, str | None] | None:
    """(message, param) for a Chat Completions body the real API refuses."""
    if not isinstance(body, dict):
        return "We could not parse the JSON body of your request.", None
    if not isinstance(body.get("model"), str) or not body["model"]:
        return "you must provide a model parameter", None
    messages = body.get("messages")
    if not isinstance(messages, list):
        return "Missing required parameter: 'messages'.", "messages"
    if not messages:
        return "Invalid 'messages': empty array. Expected an array with minimum length 1.", (
            "messages"
        )
    if "stream_options" in body and not body.get("stream"):
        return "The 'stream_options' parameter is only allowed when 'stream' is enabled.", (
            "stream_options"
        )
    for index, tool in enumerate(body.get("tools") or []):
        if not _openai_tool_ok(tool):
            where = f"tools[{index}].function.name"
            return f"Invalid '{where}': string does not match pattern.", where
    pending: list[str] = []
    for index, message in enumerate(messages):
        problem = _openai_message_problem(index, message, pending)
        if problem is not None:
            return problem
    if pending:
        return _unanswered(pending)
    return None


def _openai_tool_ok(tool: Any) -> bool:
    function = tool.get("function") if isinstance(tool, dict) else None
    if not isinstance(tool, dict) or tool.get("type") != "function":
        return False
    return isinstance(function, dict) and bool(TOOL_NAME.match(str(function.get("name", ""))))


def _unanswered(pending: list[str]) -> tuple[str, str | None]:
    return (
        "An assistant message with 'tool_calls' must be followed by tool messages responding "
        "to each 'tool_call_id'. The following tool_call_ids did not have response messages: "
        f"{', '.join(pending)}",
        "messages",
    )


def _openai_message_problem(
    index: int, message: Any, pending: list[str]
) -> tuple[str, str | None] | None:
    """`pending` holds the calls of the last assistant turn not answered yet (updated here)."""
    where = f"messages[{index}]"
    if not isinstance(message, dict):
        return f"Invalid type for '{where}': expected an object.", where
    role = message.get("role")
    if role not in OPENAI_ROLES:
        return f"Invalid value: '{role}'. Supported values are: {OPENAI_ROLES}.", f"{where}.role"
    if role != "tool" and pending:
        return _unanswered(pending)
    content = message.get("content")
    if role == "assistant":
        calls = message.get("tool_calls") or []
        pending.extend(str(call.get("id")) for call in calls if isinstance(call, dict))
        if content is None and not calls:
            return f"Missing required parameter: '{where}.content'.", f"{where}.content"
    elif content is None:
        return f"Missing required parameter: '{where}.content'.", f"{where}.content"
    if content is not None and not isinstance(content, str | list):
        return f"Invalid type for '{where}.content': expected a string or an array.", (
            f"{where}.content"
        )
    if role == "tool":
        if "tool_call_id" not in message:
            return (
                "Missing parameter 'tool_call_id': messages with role 'tool' must have a "
                "'tool_call_id'.",
                f"{where}.tool_call_id",
            )
        if message["tool_call_id"] not in pending:
            return (
                "Invalid parameter: messages with role 'tool' must be a response to a "
                "preceding message with 'tool_calls'.",
                f"{where}.role",
            )
        pending.remove(message["tool_call_id"])
    return None


def anthropic_problem(body: Any) -> str | None:
    """The message of the 400 the real Messages API answers to this body, if any."""
    if not isinstance(body, dict):
        return "There was an issue with your request body: not a JSON object"
    if not isinstance(body.get("model"), str) or not body["model"]:
        return "model: Field required"
    max_tokens = body.get("max_tokens")
    if max_tokens is None:
        return "max_tokens: Field required"
    if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1:
        return "max_tokens: Input should be a valid integer greater than or equal to 1"
    system = body.get("system")
    if system is not None and not isinstance(system, str | list):
        return "system: Input should be a valid string or a list of text blocks"
    for index, tool in enumerate(body.get("tools") or []):
        problem = _anthropic_tool_problem(index, tool)
        if problem is not None:
            return problem
    messages = body.get("messages")
    if not isinstance(messages, list):
        return "messages: Field required"
    if not messages:
        return "messages: at least one message is required"
    return _anthropic_turns_problem(messages) or _anthropic_pairing_problem(messages)


def _anthropic_tool_problem(index: int, tool: Any) -> str | None:
    if not isinstance(tool, dict):
        return f"tools.{index}: Input should be a valid dictionary"
    schema = tool.get("input_schema")
    if not isinstance(schema, dict) or schema.get("type") != "object":
        return f"tools.{index}.custom.input_schema.type: Input should be 'object'"
    if not TOOL_NAME.match(str(tool.get("name", ""))):
        return f"tools.{index}.custom.name: String should match pattern '^[a-zA-Z0-9_-]{{1,64}}$'"
    return None


def _blocks(message: Any) -> list[dict[str, Any]]:
    content = message.get("content") if isinstance(message, dict) else None
    return [b for b in content if isinstance(b, dict)] if isinstance(content, list) else []


def _anthropic_pairing_problem(messages: list[Any]) -> str | None:
    """Each `tool_use` answered by a `tool_result` in the next turn, results before any text,
    and no result without its `tool_use` in the turn before."""
    offered: set[Any] = set()
    for index, message in enumerate(messages):
        blocks = _blocks(message)
        results = [b.get("tool_use_id") for b in blocks if b.get("type") == "tool_result"]
        for position, block in enumerate(blocks):
            if block.get("type") != "tool_result":
                continue
            if block.get("tool_use_id") not in offered:
                return (
                    f"messages.{index}.content.{position}: unexpected `tool_use_id` found in "
                    f"`tool_result` blocks: {block.get('tool_use_id')}. Each `tool_result` "
                    "block must have a corresponding `tool_use` block in the previous message."
                )
            if any(b.get("type") != "tool_result" for b in blocks[:position]):
                return (
                    f"messages.{index}: `tool_result` blocks must come first in the content, "
                    "before any other block."
                )
        if problem := _unanswered_uses(index - 1, offered, results):
            return problem
        offered = {b.get("id") for b in blocks if b.get("type") == "tool_use"}
    return _unanswered_uses(len(messages) - 1, offered, [])


def _unanswered_uses(index: int, offered: set[Any], results: list[Any]) -> str | None:
    missing = [str(i) for i in offered if i not in results]
    if not missing:
        return None
    return (
        f"messages.{index}: `tool_use` ids were found without `tool_result` blocks immediately "
        f"after: {', '.join(missing)}. Each `tool_use` block must have a corresponding "
        "`tool_result` block in the next message."
    )


def _anthropic_turns_problem(messages: list[Any]) -> str | None:
    previous = None
    last = len(messages) - 1
    for index, message in enumerate(messages):
        if not isinstance(message, dict):
            return f"messages.{index}: Input should be a valid dictionary"
        role = message.get("role")
        if role not in ANTHROPIC_ROLES:
            return f"messages.{index}.role: Input should be 'user' or 'assistant'"
        if index == 0 and role != "user":
            return 'messages: first message must use the "user" role'
        if role == previous:
            return (
                'messages: roles must alternate between "user" and "assistant", '
                f'but found multiple "{role}" roles in a row'
            )
        previous = role
        if not _has_content(message.get("content")) and not (index == last and role == "assistant"):
            return (
                f"messages.{index}: all messages must have non-empty content except for the "
                "optional final assistant message"
            )
    return None


def _has_content(content: Any) -> bool:
    """Text must hold more than whitespace, in a string or in every text block."""
    if isinstance(content, str):
        return bool(content.strip())
    if isinstance(content, list):
        return bool(content) and all(
            isinstance(block, dict)
            and (block.get("type") != "text" or str(block.get("text", "")).strip())
            for block in content
        )
    return False
