"""The agent's tool loop, one run: ask the model, run the tools it calls, feed the results back,
until it answers (or the run reaches its step limit, or asks the user and waits).

Each model turn is a `step` span holding an `llm` span (tokens and cost) and one `tool` span
per call; several calls of one turn run concurrently. A call that fails in any way (unknown
tool, arguments that are not JSON or do not match the input schema, the tool failing, raising,
timing out or returning something that is not JSON) is a `tool` span with status `error`, and
its error is what the model reads as the result: the run goes on.

The loop's state lives in the run's state (`ctx.state`): the messages so far, the steps taken,
the reply's parts, and a pending question. When the model calls `ask_user`, the other calls of
the turn finish, the state is saved and `AwaitInput` leaves the worker; `resume_run` brings the
run back (maybe days later) with the answers as the result of that call.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from orbiter.agents import wire
from orbiter.conversations import agent_turns
from orbiter.core.errors import AppError
from orbiter.llm.base import ChatMessage, ChatOptions, Finish, TextDelta, ToolCall, Usage
from orbiter.providers.opening import OpenedProvider
from orbiter.runs.engine import AwaitInput, RunCancelled, RunContext
from orbiter.tools.base import RunnableTool, ToolContext
from orbiter.tools.execute import ToolResult, call_tool, parse_arguments

DECLINED = "The user declined to answer."


class _ToolError(Exception):
    """Marks a failed call's span as an error; the loop goes on."""


@dataclass
class ModelTurn:
    text: str
    calls: list[ToolCall]
    finish: str | None


@dataclass
class Asked:
    questions: list[dict[str, Any]]


@dataclass
class AgentLoop:
    ctx: RunContext
    opened: OpenedProvider
    tools: dict[str, RunnableTool]
    options: ChatOptions
    messages: list[ChatMessage]
    message_id: uuid.UUID | None = None  # the conversation reply the run writes
    parts: list[dict[str, Any]] = field(default_factory=list)

    @property
    def state(self) -> dict[str, Any]:
        return self.ctx.state

    # ------------------------------------------------------------ the loop

    async def run(self) -> dict[str, Any]:
        if self.state.get("pending"):
            await self._answered()
        while True:
            self.ctx.check_cancelled()
            number = self.ctx.steps + 1
            async with self.ctx.span("step", f"step {number}"):  # counts toward max_steps
                self.state["steps"] = self.ctx.steps
                await self.ctx.emit("step_started", {"step": number, **self._where()})
                turn = await self._model_turn()
                if not turn.calls:
                    await self.ctx.emit("step_finished", {"step": number, **self._where()})
                    return await self._finish(turn.text)
                asks = await self._tool_turn(turn)
                await self.ctx.emit("step_finished", {"step": number, **self._where()})
                if asks:
                    raise await self._ask(asks)
                await self.save()

    def _where(self) -> dict[str, Any]:
        return {"message_id": str(self.message_id)} if self.message_id else {}

    async def _model_turn(self) -> ModelTurn:
        await self.ctx.count_llm_call()  # the user's LLM rate-limit group, per call
        row, model = self.opened.row, self.opened.model
        sent = self.state.get("sent", 0)
        brief = {
            "messages": len(self.messages),
            "new": [wire.dump(m) for m in self.messages[sent:]],
        }
        async with self.ctx.span("llm", model, input=brief, model=model, provider=row.type) as span:
            text: list[str] = []
            calls: list[ToolCall] = []
            finish = None
            stream = self.opened.provider.stream_chat(
                self.messages, model=model, options=self.options
            )
            async for event in stream:
                if isinstance(event, TextDelta):
                    text.append(event.text)
                    await self.ctx.emit("delta", {"text": event.text, **self._where()})
                elif isinstance(event, ToolCall):
                    calls.append(
                        event if event.id else ToolCall(_call_id(), event.name, event.arguments)
                    )
                elif isinstance(event, Usage):
                    span.usage(
                        event.prompt_tokens,
                        event.completion_tokens,
                        model=model,
                        provider=row.type,
                        prices=row.prices,
                    )
                elif isinstance(event, Finish):
                    finish = event.reason
            turn = ModelTurn("".join(text), calls, finish)
            span.output = {
                "text": turn.text,
                "tool_calls": [wire.call_dump(c) for c in calls],
                "finish_reason": finish,
            }
        self.state["sent"] = len(self.messages)
        return turn

    # ------------------------------------------------------------ tools

    async def _tool_turn(self, turn: ModelTurn) -> list[tuple[ToolCall, Asked]]:
        """Run the turn's calls concurrently; their results join the messages in call order."""
        self.messages.append(ChatMessage("assistant", turn.text, tool_calls=tuple(turn.calls)))
        if turn.text:
            self.parts.append({"type": "text", "text": turn.text})
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(self._call(call)) for call in turn.calls]
        asks: list[tuple[ToolCall, Asked]] = []
        for call, task in zip(turn.calls, tasks, strict=True):
            outcome = task.result()
            if isinstance(outcome, Asked):
                asks.append((call, outcome))
            else:
                self.messages.append(
                    ChatMessage(
                        "tool", outcome.for_model(), tool_call_id=call.id, is_error=not outcome.ok
                    )
                )
        return asks

    async def _call(self, call: ToolCall) -> ToolResult | Asked:
        announced = {**wire.call_dump(call), **self._where()}
        await self.ctx.emit("tool_call", announced)
        self.parts.append({"type": "tool_call", **wire.call_dump(call)})
        parsed = parse_arguments(call.arguments)
        tool = self.tools.get(call.name)
        context = ToolContext(
            self.ctx.resources, self.ctx.user_id, self.ctx.project_id, self.ctx.run_id
        )
        result = ToolResult(None, self._unknown(call.name), 0)
        try:
            async with self.ctx.span("tool", call.name, input=parsed) as span:
                if tool is not None:
                    result = await call_tool(tool, context, call.arguments)
                span.output = result.output
                if result.error is not None:
                    raise _ToolError(result.error)
        except _ToolError:
            pass
        except AwaitInput as asking:
            return Asked(list(asking.data.get("questions") or []))
        await self._result(call, output=result.output, error=result.error)
        return result

    def _unknown(self, name: str) -> str:
        offered = ", ".join(sorted(self.tools)) or "none"
        return f"There is no tool named {name!r}; the tools are: {offered}"

    async def _result(self, call: ToolCall, *, output: Any, error: str | None) -> None:
        result = {"tool_call_id": call.id, "name": call.name, "output": output, "error": error}
        await self.ctx.emit("tool_result", {**result, **self._where()})
        self.parts.append({"type": "tool_result", **result})
        await self._save_reply()

    # ------------------------------------------------------------ questions

    async def _ask(self, asks: list[tuple[ToolCall, Asked]]) -> AwaitInput:
        """Save the loop and make the run wait for the answers to every question asked."""
        request_id = str(uuid.uuid4())
        questions = [q for _, asked in asks for q in asked.questions]
        self.state["pending"] = {
            "request_id": request_id,
            "calls": [
                {"id": call.id, "name": call.name, "count": len(asked.questions)}
                for call, asked in asks
            ],
            "questions": questions,
        }
        self.parts.append(
            {
                "type": "question",
                "request_id": request_id,
                "questions": questions,
                "status": "pending",
            }
        )
        await self.save()
        data: dict[str, Any] = {"request_id": request_id, "questions": questions, **self._where()}
        if self.ctx.conversation_id is not None:
            data["conversation_id"] = str(self.ctx.conversation_id)
        return AwaitInput(data)

    async def _answered(self) -> None:
        """Back from a question: each `ask_user` call's result is its answers, or a refusal."""
        pending = self.state["pending"]
        resume = self.ctx.resume if isinstance(self.ctx.resume, dict) else None
        if resume is None or resume.get("request_id") != pending["request_id"]:
            raise AwaitInput(_asked_again(pending, self._where()))  # not answered: wait again
        declined = bool(resume.get("rejected"))
        answers = list(resume.get("answers") or [])
        offset = 0
        for asked in pending["calls"]:
            questions = pending["questions"][offset : offset + asked["count"]]
            given = answers[offset : offset + asked["count"]]
            offset += asked["count"]
            content = DECLINED if declined else json.dumps(_answer_list(questions, given))
            call = ToolCall(asked["id"], asked["name"], "{}")
            self.messages.append(ChatMessage("tool", content, tool_call_id=call.id))
            output = None if declined else _answer_list(questions, given)
            await self._result(call, output=output, error=DECLINED if declined else None)
        for part in self.parts:
            if part.get("type") == "question" and part.get("request_id") == pending["request_id"]:
                part["status"] = "rejected" if declined else "answered"
                if not declined:
                    part["answers"] = answers
        del self.state["pending"]
        await self.save()

    # ------------------------------------------------------------ the end

    async def _finish(self, text: str) -> dict[str, Any]:
        if text:
            self.parts.append({"type": "text", "text": text})
        await self.save()
        if self.message_id is not None:
            await agent_turns.finish_reply(
                self.ctx.resources,
                self.message_id,
                status="complete",
                content=text,
                parts=self.parts,
                usage=(self.ctx.tokens_in, self.ctx.tokens_out),
                provider=(self.opened.row.id, self.opened.model),
            )
        output: dict[str, Any] = {"text": text, "steps": self.ctx.steps}
        if self.message_id is not None:
            output["message_id"] = str(self.message_id)
        return output

    async def failed(self, exc: Exception) -> None:
        """Store the reply's end when the run fails or is cancelled."""
        if self.message_id is None:
            return
        cancelled = isinstance(exc, RunCancelled)
        message = exc.message if isinstance(exc, AppError) else "The run failed unexpectedly"
        await agent_turns.finish_reply(
            self.ctx.resources,
            self.message_id,
            status="incomplete" if cancelled else "error",
            content="",
            parts=self.parts,
            error=agent_turns.CANCELLED if cancelled else message,
            usage=(self.ctx.tokens_in, self.ctx.tokens_out),
        )

    async def save(self) -> None:
        self.state["messages"] = [wire.dump(m) for m in self.messages]
        self.state["parts"] = self.parts
        self.state["steps"] = self.ctx.steps
        await self.ctx.save_state()
        await self._save_reply()

    async def _save_reply(self) -> None:
        if self.message_id is not None:
            await agent_turns.save_reply(
                self.ctx.resources, self.message_id, content="", parts=self.parts
            )


def _call_id() -> str:
    return f"call_{uuid.uuid4().hex[:24]}"


def _answer_list(questions: list[dict[str, Any]], given: list[Any]) -> dict[str, Any]:
    return {
        "answers": [
            {"question": q.get("question"), "answer": a}
            for q, a in zip(questions, given, strict=False)
        ]
    }


def _asked_again(pending: dict[str, Any], where: dict[str, Any]) -> dict[str, Any]:
    return {"request_id": pending["request_id"], "questions": pending["questions"], **where}
