"""`ask_user`: the agent asks the user of its conversation one or more questions and waits.

Running it raises the engine's `AwaitInput` with the questions: the run is stored
`awaiting_input` and leaves the worker; the `question` event carries them (with the
`request_id` the agent executor adds), and a reply or rejection at
`/conversations/{id}/questions/{request_id}/...` brings the run back with the answers as this
call's result. Offered only to runs in a conversation (there is nobody to ask otherwise).
"""

from __future__ import annotations

from typing import Any

from orbiter.runs.engine import AwaitInput
from orbiter.tools.base import RunnableTool, ToolContext

MAX_QUESTIONS = 5
MAX_OPTIONS = 10


def questions_of(arguments: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "question": str(item["question"]),
            "options": [str(option) for option in item.get("options") or []],
            "multiple": bool(item.get("multiple", False)),
        }
        for item in arguments["questions"]
    ]


async def run(_: ToolContext, arguments: dict[str, Any]) -> Any:
    raise AwaitInput({"questions": questions_of(arguments)})


ASK_USER = RunnableTool(
    id="ask_user",
    name="ask_user",
    description=(
        "Ask the user questions and wait for the answers (possibly for a long time). Use it "
        "when you cannot go on without a decision or a fact only the user has. Give options "
        "when the answer is a choice; the user may also answer in free text or decline."
    ),
    input_schema={
        "type": "object",
        "properties": {
            "questions": {
                "type": "array",
                "minItems": 1,
                "maxItems": MAX_QUESTIONS,
                "items": {
                    "type": "object",
                    "properties": {
                        "question": {"type": "string", "minLength": 1, "maxLength": 2000},
                        "options": {
                            "type": "array",
                            "maxItems": MAX_OPTIONS,
                            "items": {"type": "string", "minLength": 1, "maxLength": 200},
                        },
                        "multiple": {
                            "type": "boolean",
                            "description": "Whether several options may be chosen",
                        },
                    },
                    "required": ["question"],
                    "additionalProperties": False,
                },
            }
        },
        "required": ["questions"],
        "additionalProperties": False,
    },
    run=run,
    builtin=True,
)
