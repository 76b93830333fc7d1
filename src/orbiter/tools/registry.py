"""The one list of built-in tools. A new built-in is a
module under `tools/builtin/` defining a `RunnableTool`, added to `BUILTINS` here; the tools
API, invoke and agents all read this list."""

from __future__ import annotations

from orbiter.tools.base import RunnableTool
from orbiter.tools.builtin.ask_user import ASK_USER
from orbiter.tools.builtin.calculator import CALCULATOR
from orbiter.tools.builtin.code_interpreter import CODE_INTERPRETER
from orbiter.tools.builtin.current_time import CURRENT_TIME
from orbiter.tools.builtin.http_request import HTTP_REQUEST
from orbiter.tools.builtin.knowledge_search import KNOWLEDGE_SEARCH

BUILTINS: dict[str, RunnableTool] = {
    tool.name: tool
    for tool in (
        ASK_USER,
        CALCULATOR,
        CODE_INTERPRETER,
        CURRENT_TIME,
        HTTP_REQUEST,
        KNOWLEDGE_SEARCH,
    )
}
# Built-ins that need a person to talk to: offered only to runs in a conversation, and not
# invocable on their own.
CONVERSATIONAL = frozenset({ASK_USER.name})


def builtin(name: str) -> RunnableTool | None:
    return BUILTINS.get(name)


def builtin_names() -> list[str]:
    return sorted(BUILTINS)
