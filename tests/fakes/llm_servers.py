"""Fake LLM providers on real loopback HTTP servers (uvicorn in a background thread).

Fixtures:
* `fake_llm_servers` (session): starts an OpenAI-compatible server (also answering Ollama's
  `/api/tags`) and an Anthropic-style server once per run.
* `fake_llm` (per test): the same servers with their state reset (request log, scripted
  replies, counters, delays).

Behaviour is chosen by the model name (substring match, so `claude-slow` works too):
  echo (any other name)  "Echo: <last user message>" in several deltas, with usage
  slow                   waits `delay_before` before the first chunk, `delay_between` after each
  flaky                  answers 429 `fail_times` times (per test), then like echo
  error                  always 500
  disconnect             sends `disconnect_after` chunks, then drops the connection
  malformed              sends a chunk that is not JSON
  truncated              sends a few chunks and ends the stream cleanly without finishing
  tool                   a tool call `get_weather({"city": "Paris"})`, finish reason tool_calls
and by the API key: a key starting with `bad` answers 401 (OpenAI / Anthropic error shape);
`redirect-key` answers GET /models with a 302 to a path that is never expected to be hit.
Bodies the real APIs refuse are refused the same way (400 `invalid_request_error`, see
`tests.fakes.llm_checks`): no `model`, Anthropic without `max_tokens` or with turns that do
not alternate from a first user turn, an OpenAI `tool` message without `tool_call_id`, ...
`POST /v1/embeddings` answers deterministic bag-of-words vectors (`fake_embedding`; 64
dimensions unless the body asks for `dimensions`; a model with `error` in its name: 500).
`fake.queue_reply("text")` makes the next completions (any echo-like model) answer "text".
Every request is logged in `fake.requests` (server, method, path, headers, json body).

Scripted turns (multi-step tool calling): `fake.queue_turns(turn(...), ...)` makes the next
completions of any model but error/flaky answer with those turns in order, on both servers,
streamed the way each API streams: text and/or tool calls (several = parallel calls), with
the given usage. `outage()` as a turn makes that and every later completion answer 500
(until the test ends). The checks refuse malformed tool calling too: a `tool_result` without
its `tool_use` in the turn before or a `tool_use` left unanswered (Anthropic), a `tool`
message not answering the assistant's `tool_calls` right before it or a call left unanswered
(OpenAI), tool names outside `^[a-zA-Z0-9_-]{1,64}$`, an Anthropic tool whose `input_schema`
is not an object schema.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import threading
import time
import zlib
from collections import deque
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import uvicorn
from httpx import AsyncClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.fakes.llm_checks import anthropic_problem, openai_problem

OPENAI_MODELS = ["echo", "slow", "flaky", "error", "disconnect", "malformed", "truncated", "tool"]
ANTHROPIC_MODELS = [f"claude-{m}" for m in OPENAI_MODELS]
OLLAMA_MODELS = ["llama3.2:latest", "qwen2.5-coder:7b"]


class DropConnection(Exception):
    """Raised inside a streaming body: uvicorn closes the socket mid-response."""


@dataclass
class RecordedRequest:
    server: str  # "openai" or "anthropic"
    method: str
    path: str
    headers: dict[str, str]
    json: Any

    @property
    def messages(self) -> list[dict[str, Any]]:
        body = self.json if isinstance(self.json, dict) else {}
        return list(body.get("messages", []))


@dataclass(frozen=True)
class ScriptedCall:
    name: str
    arguments: dict[str, Any] | str  # a string is sent as is (e.g. JSON that does not parse)


@dataclass(frozen=True)
class ScriptedTurn:
    text: str = ""
    calls: tuple[ScriptedCall, ...] = ()
    usage: tuple[int, int] | None = None  # (prompt, completion) tokens; default: counted
    is_outage: bool = False


def turn(
    text: str = "",
    *calls: tuple[str, dict[str, Any] | str],
    usage: tuple[int, int] | None = None,
) -> ScriptedTurn:
    """One scripted model turn: `turn("Done")`, `turn("", ("calculator", {"expression": "1+1"}),
    ("current_time", {}))` (two parallel calls), with `usage=(prompt, completion)` tokens."""
    return ScriptedTurn(text, tuple(ScriptedCall(n, a) for n, a in calls), usage)


def outage() -> ScriptedTurn:
    return ScriptedTurn(is_outage=True)


@dataclass
class FakeState:
    requests: list[RecordedRequest] = field(default_factory=list)
    turns: deque[ScriptedTurn] = field(default_factory=deque)
    replies: deque[str] = field(default_factory=deque)
    counters: dict[str, int] = field(default_factory=dict)
    delay_before: float = 0.5
    delay_between: float = 0.05
    fail_times: int = 1
    disconnect_after: int = 2
    lock: threading.Lock = field(default_factory=threading.Lock)

    def reset(self) -> None:
        with self.lock:
            self.requests.clear()
            self.turns.clear()
            self.replies.clear()
            self.counters.clear()
        self.delay_before, self.delay_between = 0.5, 0.05
        self.fail_times, self.disconnect_after = 1, 2

    def count(self, key: str) -> int:
        with self.lock:
            self.counters[key] = self.counters.get(key, 0) + 1
            return self.counters[key]

    def next_turn(self) -> ScriptedTurn | None:
        """The next scripted turn; an outage stays at the head, so every later call fails."""
        with self.lock:
            if not self.turns:
                return None
            if self.turns[0].is_outage:
                return self.turns[0]
            return self.turns.popleft()

    def call_id(self, prefix: str) -> str:
        return f"{prefix}_{self.count('scripted-call')}"

    def next_reply(self, messages: list[dict[str, Any]]) -> str:
        with self.lock:
            if self.replies:
                return self.replies.popleft()
        return "Echo: " + last_user_text(messages)


def last_user_text(messages: list[dict[str, Any]]) -> str:
    for message in reversed(messages):
        if message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, list):  # content blocks
                return " ".join(str(b.get("text", "")) for b in content if isinstance(b, dict))
            return str(content)
    return ""


def split_deltas(text: str, parts: int = 4) -> list[str]:
    """Several deltas that join back to `text` exactly."""
    if not text:
        return [""]
    size = max(1, -(-len(text) // parts))
    return [text[i : i + size] for i in range(0, len(text), size)]


def words(messages: list[dict[str, Any]]) -> int:
    return sum(len(str(m.get("content", "")).split()) for m in messages)


async def _record(request: Request, server: str, state: FakeState) -> Any:
    raw = await request.body()
    try:
        body = json.loads(raw) if raw else None
    except ValueError:
        body = raw.decode(errors="replace")
    entry = RecordedRequest(
        server, request.method, request.url.path, dict(request.headers.items()), body
    )
    with state.lock:
        state.requests.append(entry)
    return body


def _sse(data: Any, event: str | None = None) -> bytes:
    head = f"event: {event}\n" if event else ""
    payload = data if isinstance(data, str) else json.dumps(data)
    return f"{head}data: {payload}\n\n".encode()


# ------------------------------------------------------------------ OpenAI-compatible


def _openai_error(
    status: int, message: str, type_: str, code: str | None = None, param: str | None = None
) -> Response:
    body = {"error": {"message": message, "type": type_, "param": param, "code": code}}
    return JSONResponse(body, status_code=status)


def _openai_key(request: Request) -> str:
    return request.headers.get("authorization", "").removeprefix("Bearer ").strip()


def openai_app(state: FakeState) -> Starlette:
    async def models(request: Request) -> Response:
        await _record(request, "openai", state)
        key = _openai_key(request)
        if key.startswith("bad"):
            return _openai_error(401, "Incorrect API key provided", "invalid_request_error")
        if key == "redirect-key":
            return RedirectResponse("/v1/redirected-models", status_code=302)
        data = [
            {"id": m, "object": "model", "created": 0, "owned_by": "fake"} for m in OPENAI_MODELS
        ]
        return JSONResponse({"object": "list", "data": data})

    async def redirected(request: Request) -> Response:
        await _record(request, "openai", state)
        return JSONResponse({"object": "list", "data": []})

    async def tags(request: Request) -> Response:
        await _record(request, "openai", state)
        return JSONResponse({"models": [{"name": m, "model": m, "size": 1} for m in OLLAMA_MODELS]})

    async def completions(request: Request) -> Response:
        body = await _record(request, "openai", state)
        if _openai_key(request).startswith("bad"):
            return _openai_error(
                401, "Incorrect API key provided", "invalid_request_error", "invalid_api_key"
            )
        problem = openai_problem(body)
        if problem is not None:
            message, param = problem
            return _openai_error(400, message, "invalid_request_error", param=param)
        model = str(body["model"])
        messages = body.get("messages", [])
        if "error" in model:
            return _openai_error(500, "The server had an error", "server_error")
        if "flaky" in model and state.count("flaky") <= state.fail_times:
            response = _openai_error(429, "Rate limit reached", "requests", "rate_limit_exceeded")
            response.headers["retry-after-ms"] = "10"
            return response
        if (scripted := state.next_turn()) is not None:
            if scripted.is_outage:
                return _openai_error(500, "The server had an error", "server_error")
            return StreamingResponse(
                _openai_turn(state, model, scripted, messages), media_type="text/event-stream"
            )
        reply = state.next_reply(messages)
        if not body.get("stream"):
            return JSONResponse(_openai_completion(model, reply, messages))
        return StreamingResponse(
            _openai_stream(state, model, reply, messages), media_type="text/event-stream"
        )

    async def embeddings(request: Request) -> Response:
        body = await _record(request, "openai", state)
        if _openai_key(request).startswith("bad"):
            return _openai_error(401, "Incorrect API key provided", "invalid_request_error")
        model, texts = body.get("model"), body.get("input")
        if not model or not isinstance(texts, list) or not texts:
            return _openai_error(
                400, "model and a list input are required", "invalid_request_error"
            )
        if "error" in str(model):
            return _openai_error(500, "The server had an error", "server_error")
        size = int(body.get("dimensions") or EMBEDDING_DIMENSIONS)
        data = [
            {"object": "embedding", "index": i, "embedding": fake_embedding(str(t), size)}
            for i, t in enumerate(texts)
        ]
        usage = {"prompt_tokens": sum(len(str(t).split()) for t in texts), "total_tokens": 0}
        return JSONResponse({"object": "list", "model": model, "data": data, "usage": usage})

    return Starlette(
        routes=[
            Route("/v1/models", models),
            Route("/v1/redirected-models", redirected),
            Route("/api/tags", tags),
            Route("/v1/chat/completions", completions, methods=["POST"]),
            Route("/v1/embeddings", embeddings, methods=["POST"]),
        ]
    )


EMBEDDING_DIMENSIONS = 64


def fake_embedding(text: str, size: int) -> list[float]:
    """A deterministic bag-of-words vector: each lower-cased word adds 1 to the component its
    CRC-32 picks, so texts sharing words are close (cosine) and unrelated ones are not."""
    vector = [0.0] * size
    for word in re.findall(r"[a-z0-9]+", text.lower()):
        vector[zlib.crc32(word.encode()) % size] += 1.0
    return vector


def _openai_completion(model: str, reply: str, messages: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": reply},
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": words(messages),
            "completion_tokens": len(split_deltas(reply)),
            "total_tokens": words(messages) + len(split_deltas(reply)),
        },
    }


def _chunk(model: str, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


async def _openai_stream(
    state: FakeState, model: str, reply: str, messages: list[dict[str, Any]]
) -> AsyncIterator[bytes]:
    slow = "slow" in model
    if slow:
        await asyncio.sleep(state.delay_before)
    yield _sse(_chunk(model, {"role": "assistant", "content": ""}))
    if "tool" in model:
        call = {
            "index": 0,
            "id": "call_1",
            "type": "function",
            "function": {"name": "get_weather", "arguments": ""},
        }
        yield _sse(_chunk(model, {"tool_calls": [call]}))
        for part in ('{"city": ', '"Paris"}'):
            yield _sse(
                _chunk(model, {"tool_calls": [{"index": 0, "function": {"arguments": part}}]})
            )
        yield _sse(_chunk(model, {}, "tool_calls"))
        yield _sse("[DONE]")
        return
    deltas = split_deltas(reply)
    for number, text in enumerate(deltas, start=1):
        yield _sse(_chunk(model, {"content": text}))
        if "disconnect" in model and number >= state.disconnect_after:
            raise DropConnection
        if "malformed" in model:
            yield b"data: {this is not json\n\n"
        if "truncated" in model and number >= 2:
            return
        if slow:
            await asyncio.sleep(state.delay_between)
    yield _sse(_chunk(model, {}, "stop"))
    usage = {
        "prompt_tokens": words(messages),
        "completion_tokens": len(deltas),
        "total_tokens": words(messages) + len(deltas),
    }
    yield _sse({**_chunk(model, {}), "choices": [], "usage": usage})
    yield _sse("[DONE]")


# ------------------------------------------------------------------ Anthropic-style


def _anthropic_error(status: int, type_: str, message: str) -> Response:
    return JSONResponse(
        {"type": "error", "error": {"type": type_, "message": message}}, status_code=status
    )


def _anthropic_key(request: Request) -> str:
    """The 2.x SDK sends the key as a Bearer token; older clients use x-api-key."""
    return request.headers.get("x-api-key") or _openai_key(request)


def anthropic_app(state: FakeState) -> Starlette:
    async def models(request: Request) -> Response:
        await _record(request, "anthropic", state)
        if _anthropic_key(request).startswith("bad"):
            return _anthropic_error(401, "authentication_error", "invalid x-api-key")
        data = [
            {"type": "model", "id": m, "display_name": m, "created_at": "2025-01-01T00:00:00Z"}
            for m in ANTHROPIC_MODELS
        ]
        return JSONResponse(
            {"data": data, "has_more": False, "first_id": data[0]["id"], "last_id": data[-1]["id"]}
        )

    async def messages(request: Request) -> Response:
        body = await _record(request, "anthropic", state)
        if _anthropic_key(request).startswith("bad"):
            return _anthropic_error(401, "authentication_error", "invalid x-api-key")
        problem = anthropic_problem(body)
        if problem is not None:
            return _anthropic_error(400, "invalid_request_error", problem)
        model = str(body["model"])
        turns = body.get("messages", [])
        if "error" in model:
            return _anthropic_error(500, "api_error", "Internal server error")
        if "flaky" in model and state.count("flaky") <= state.fail_times:
            response = _anthropic_error(429, "rate_limit_error", "Rate limited")
            response.headers["retry-after-ms"] = "10"
            return response
        if (scripted := state.next_turn()) is not None:
            if scripted.is_outage:
                return _anthropic_error(500, "api_error", "Internal server error")
            return StreamingResponse(
                _anthropic_turn(state, model, scripted, turns), media_type="text/event-stream"
            )
        reply = state.next_reply(turns)
        if not body.get("stream"):
            return JSONResponse(_anthropic_message(model, reply, turns))
        return StreamingResponse(
            _anthropic_stream(state, model, reply, turns), media_type="text/event-stream"
        )

    return Starlette(
        routes=[Route("/v1/models", models), Route("/v1/messages", messages, methods=["POST"])]
    )


def _anthropic_message(model: str, reply: str, turns: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": "msg_fake",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": reply}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": words(turns), "output_tokens": len(split_deltas(reply))},
    }


async def _anthropic_stream(
    state: FakeState, model: str, reply: str, turns: list[dict[str, Any]]
) -> AsyncIterator[bytes]:
    slow = "slow" in model
    if slow:
        await asyncio.sleep(state.delay_before)
    start = _anthropic_message(model, "", turns)
    start.update(
        content=[], stop_reason=None, usage={"input_tokens": words(turns), "output_tokens": 1}
    )
    yield _sse({"type": "message_start", "message": start}, "message_start")
    if "tool" in model:
        block = {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {}}
        yield _sse(
            {"type": "content_block_start", "index": 0, "content_block": block},
            "content_block_start",
        )
        for part in ('{"city": ', '"Paris"}'):
            delta = {"type": "input_json_delta", "partial_json": part}
            yield _sse(
                {"type": "content_block_delta", "index": 0, "delta": delta}, "content_block_delta"
            )
        yield _sse({"type": "content_block_stop", "index": 0}, "content_block_stop")
        stop_reason, deltas = "tool_use", ["x"]
    else:
        block = {"type": "text", "text": ""}
        yield _sse(
            {"type": "content_block_start", "index": 0, "content_block": block},
            "content_block_start",
        )
        deltas = split_deltas(reply)
        for number, text in enumerate(deltas, start=1):
            delta = {"type": "text_delta", "text": text}
            yield _sse(
                {"type": "content_block_delta", "index": 0, "delta": delta}, "content_block_delta"
            )
            if "disconnect" in model and number >= state.disconnect_after:
                raise DropConnection
            if "malformed" in model:
                yield b"event: content_block_delta\ndata: {this is not json\n\n"
            if "truncated" in model and number >= 2:
                return
            if slow:
                await asyncio.sleep(state.delay_between)
        yield _sse({"type": "content_block_stop", "index": 0}, "content_block_stop")
        stop_reason = "end_turn"
    delta_event = {
        "type": "message_delta",
        "delta": {"stop_reason": stop_reason, "stop_sequence": None},
        "usage": {"output_tokens": len(deltas)},
    }
    yield _sse(delta_event, "message_delta")
    yield _sse({"type": "message_stop"}, "message_stop")


# ------------------------------------------------------------------ scripted turns


def _arguments(call: ScriptedCall) -> str:
    return call.arguments if isinstance(call.arguments, str) else json.dumps(call.arguments)


def _halves(text: str) -> list[str]:
    middle = len(text) // 2
    return [part for part in (text[:middle], text[middle:]) if part]


def _scripted_usage(scripted: ScriptedTurn, messages: list[dict[str, Any]]) -> tuple[int, int]:
    if scripted.usage is not None:
        return scripted.usage
    return words(messages), len(split_deltas(scripted.text)) + len(scripted.calls)


async def _openai_turn(
    state: FakeState, model: str, scripted: ScriptedTurn, messages: list[dict[str, Any]]
) -> AsyncIterator[bytes]:
    yield _sse(_chunk(model, {"role": "assistant", "content": ""}))
    for text in split_deltas(scripted.text) if scripted.text else []:
        yield _sse(_chunk(model, {"content": text}))
    for index, call in enumerate(scripted.calls):
        head = {
            "index": index,
            "id": state.call_id("call"),
            "type": "function",
            "function": {"name": call.name, "arguments": ""},
        }
        yield _sse(_chunk(model, {"tool_calls": [head]}))
        for part in _halves(_arguments(call)):
            piece = {"index": index, "function": {"arguments": part}}
            yield _sse(_chunk(model, {"tool_calls": [piece]}))
    yield _sse(_chunk(model, {}, "tool_calls" if scripted.calls else "stop"))
    prompt, completion = _scripted_usage(scripted, messages)
    usage = {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }
    yield _sse({**_chunk(model, {}), "choices": [], "usage": usage})
    yield _sse("[DONE]")


async def _anthropic_turn(
    state: FakeState, model: str, scripted: ScriptedTurn, turns: list[dict[str, Any]]
) -> AsyncIterator[bytes]:
    prompt, completion = _scripted_usage(scripted, turns)
    start = _anthropic_message(model, "", turns)
    start.update(content=[], stop_reason=None, usage={"input_tokens": prompt, "output_tokens": 1})
    yield _sse({"type": "message_start", "message": start}, "message_start")
    blocks: list[tuple[dict[str, Any], list[dict[str, Any]]]] = []
    if scripted.text:
        texts = split_deltas(scripted.text)
        blocks.append(
            ({"type": "text", "text": ""}, [{"type": "text_delta", "text": t} for t in texts])
        )
    for call in scripted.calls:
        block = {"type": "tool_use", "id": state.call_id("toolu"), "name": call.name, "input": {}}
        parts = _halves(_arguments(call))
        blocks.append((block, [{"type": "input_json_delta", "partial_json": p} for p in parts]))
    for index, (block, deltas) in enumerate(blocks):
        yield _sse(
            {"type": "content_block_start", "index": index, "content_block": block},
            "content_block_start",
        )
        for delta in deltas:
            yield _sse(
                {"type": "content_block_delta", "index": index, "delta": delta},
                "content_block_delta",
            )
        yield _sse({"type": "content_block_stop", "index": index}, "content_block_stop")
    delta_event = {
        "type": "message_delta",
        "delta": {
            "stop_reason": "tool_use" if scripted.calls else "end_turn",
            "stop_sequence": None,
        },
        "usage": {"output_tokens": completion},
    }
    yield _sse(delta_event, "message_delta")
    yield _sse({"type": "message_stop"}, "message_stop")


# ------------------------------------------------------------------ servers and fixtures


class LoopbackServer:
    """A Starlette app served by uvicorn on 127.0.0.1 (a free port) in a background thread."""

    def __init__(self, app: Starlette) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port: int = self.sock.getsockname()[1]
        config = uvicorn.Config(app, log_level="critical", lifespan="off", access_log=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the fake LLM server did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=5)
        self.sock.close()


class FakeLLM:
    """Handles to the running fakes; see the module docstring for behaviours."""

    def __init__(self) -> None:
        self.state = FakeState()
        self._openai = LoopbackServer(openai_app(self.state))
        self._anthropic = LoopbackServer(anthropic_app(self.state))

    # URLs as a provider's base_url
    @property
    def openai_url(self) -> str:
        return f"http://127.0.0.1:{self._openai.port}/v1"

    @property
    def ollama_url(self) -> str:
        return f"http://127.0.0.1:{self._openai.port}"

    @property
    def anthropic_url(self) -> str:
        return f"http://127.0.0.1:{self._anthropic.port}"

    def start(self) -> None:
        self._openai.start()
        self._anthropic.start()

    def stop(self) -> None:
        self._openai.stop()
        self._anthropic.stop()

    def reset(self) -> None:
        self.state.reset()

    # knobs
    @property
    def requests(self) -> list[RecordedRequest]:
        with self.state.lock:
            return list(self.state.requests)

    def completions(self) -> list[RecordedRequest]:
        """Chat requests only (OpenAI /chat/completions and Anthropic /messages)."""
        return [r for r in self.requests if r.path.endswith(("/chat/completions", "/messages"))]

    def queue_reply(self, *texts: str) -> None:
        with self.state.lock:
            self.state.replies.extend(texts)

    def queue_turns(self, *turns: ScriptedTurn) -> None:
        """Script the next completions (see the module docstring)."""
        with self.state.lock:
            self.state.turns.extend(turns)

    def set_delays(self, *, before: float | None = None, between: float | None = None) -> None:
        if before is not None:
            self.state.delay_before = before
        if between is not None:
            self.state.delay_between = between

    def set_fail_times(self, times: int) -> None:
        self.state.fail_times = times

    def set_disconnect_after(self, chunks: int) -> None:
        self.state.disconnect_after = chunks


@pytest.fixture(scope="session")
def fake_llm_servers() -> Iterator[FakeLLM]:
    fake = FakeLLM()
    fake.start()
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture
def fake_llm(fake_llm_servers: FakeLLM) -> Iterator[FakeLLM]:
    fake_llm_servers.reset()
    yield fake_llm_servers
    fake_llm_servers.reset()


def provider_body(
    fake: FakeLLM,
    kind: str = "openai",
    *,
    name: str | None = None,
    api_key: str | None = "sk-test-key-1234abcd",
    models: list[str] | None = None,
    is_default: bool | None = None,
    prices: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A POST /providers body pointing at the fakes: kind openai | anthropic | ollama."""
    body: dict[str, Any]
    if kind == "anthropic":
        body = {
            "type": "anthropic",
            "base_url": fake.anthropic_url,
            "models": models or ["claude-echo"],
        }
    elif kind == "ollama":
        body = {"type": "ollama", "base_url": fake.ollama_url, "models": models or ["echo"]}
    else:
        body = {
            "type": "openai_compatible",
            "base_url": fake.openai_url,
            "models": models or ["echo"],
        }
    body["name"] = name or f"fake-{kind}"
    if api_key is not None:
        body["api_key"] = api_key
    if is_default is not None:
        body["is_default"] = is_default
    if prices is not None:
        body["prices"] = prices
    return body


async def create_fake_provider(
    client: AsyncClient, fake: FakeLLM, kind: str = "openai", **options: Any
) -> dict[str, Any]:
    """Create a provider on the fakes through HTTP; returns the created provider's JSON."""
    response = await client.post("/api/v1/providers", json=provider_body(fake, kind, **options))
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created
