"""The request-shape checks the real LLM APIs make, so the fakes refuse what they refuse.

Each function returns the error message of the real API's 400 `invalid_request_error`, or
None when the body would be accepted. The messages follow the real ones closely enough for a
reader to recognise them; tests assert on status and type, not on wording.
"""

from __future__ import annotations

from typing import Any

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
    called: set[str] = set()
    for index, message in enumerate(messages):
        problem = _openai_message_problem(index, message, called)
        if problem is not None:
            return problem
    return None


def _openai_message_problem(
    index: int, message: Any, called: set[str]
) -> tuple[str, str | None] | None:
    where = f"messages[{index}]"
    if not isinstance(message, dict):
        return f"Invalid type for '{where}': expected an object.", where
    role = message.get("role")
    if role not in OPENAI_ROLES:
        return f"Invalid value: '{role}'. Supported values are: {OPENAI_ROLES}.", f"{where}.role"
    content = message.get("content")
    if role == "assistant":
        calls = message.get("tool_calls") or []
        called.update(str(call.get("id")) for call in calls if isinstance(call, dict))
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
        if message["tool_call_id"] not in called:
            return (
                "Invalid parameter: messages with role 'tool' must be a response to a "
                "preceding message with 'tool_calls'.",
                f"{where}.role",
            )
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
    messages = body.get("messages")
    if not isinstance(messages, list):
        return "messages: Field required"
    if not messages:
        return "messages: at least one message is required"
    return _anthropic_turns_problem(messages)


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
