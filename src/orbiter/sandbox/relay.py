"""Any replica serves any sandbox: a command for a sandbox held by another host is relayed
to that host through Redis, and its result comes back the same way.

Each host pops the requests addressed to it from its own list (`orbiter:sandbox:to:<host>`,
BLPOP) and runs each as its own task; the caller waits for the reply on a key of its own
(`orbiter:sandbox:reply:<request id>`, BLPOP with a deadline). A request carries its
deadline, so one that waited in the list of a host that was down is dropped, not run late.
Without Redis there is one process and nothing to relay (`relay_for` gives None).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import Any

from redis.asyncio import Redis

from orbiter.core.errors import ServiceUnavailable
from orbiter.sandbox.limits import Limits
from orbiter.sandbox.runner import Command, CommandResult

logger = logging.getLogger("orbiter.sandbox")
REQUESTS = "orbiter:sandbox:to:"
REPLIES = "orbiter:sandbox:reply:"
POP_SECONDS = 1
MARGIN_SECONDS = 10.0  # beyond the command's own wall clock: start-up, Redis, the reply
REPLY_TTL_SECONDS = 60

# (operation, sandbox id, command or None, the caller's limits or None) -> the result, or None
Handler = Callable[[str, uuid.UUID, Command | None, Limits | None], Awaitable[CommandResult | None]]


class RedisRelay:
    def __init__(self, url: str, host: str) -> None:
        # No socket timeout: BLPOP blocks for as long as it is told to.
        self._redis = Redis.from_url(url, socket_timeout=None, socket_keepalive=True)
        self._host = host
        self._tasks: set[asyncio.Task[None]] = set()

    async def call(
        self,
        holder: str,
        operation: str,
        sandbox_id: uuid.UUID,
        command: Command | None,
        *,
        wait_seconds: float,
        limits: Limits | None = None,
    ) -> CommandResult | None:
        """Have host `holder` do `operation`; 503 when it does not answer in time."""
        request_id = uuid.uuid4().hex
        deadline = time.time() + wait_seconds + MARGIN_SECONDS
        request = {
            "id": request_id,
            "operation": operation,
            "sandbox_id": str(sandbox_id),
            "command": _encode_command(command) if command else None,
            "limits": asdict(limits) if limits else None,
            "deadline": deadline,
        }
        await self._redis.rpush(REQUESTS + holder, json.dumps(request))
        reply = await self._redis.blpop(
            [REPLIES + request_id], timeout=max(1, int(deadline - time.time()) + 1)
        )
        if reply is None:
            raise ServiceUnavailable(f"The host holding this sandbox ({holder}) did not answer")
        body: dict[str, Any] = json.loads(reply[1])
        if body.get("error"):
            raise ServiceUnavailable(f"The host holding this sandbox failed: {body['error']}")
        result = body.get("result")
        return CommandResult(**result) if result else None

    async def serve(self, handler: Handler, stop: asyncio.Event) -> None:
        """Run the requests addressed to this host until `stop` is set."""
        while not stop.is_set():
            try:
                popped = await self._redis.blpop([REQUESTS + self._host], timeout=POP_SECONDS)
            except Exception:
                logger.warning("sandbox relay: Redis failed; retrying", exc_info=True)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), POP_SECONDS)
                continue
            if popped is not None:
                task = asyncio.create_task(self._answer(handler, json.loads(popped[1])))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    async def _answer(self, handler: Handler, request: dict[str, Any]) -> None:
        if request["deadline"] < time.time():
            return  # its caller has given up
        reply: dict[str, Any] = {}
        try:
            command = _decode_command(request["command"]) if request["command"] else None
            limits = Limits(**request["limits"]) if request.get("limits") else None
            sandbox_id = uuid.UUID(request["sandbox_id"])
            result = await handler(request["operation"], sandbox_id, command, limits)
            reply["result"] = asdict(result) if result else None
        except Exception as exc:
            logger.exception("sandbox relay: %s failed", request["operation"])
            reply["error"] = type(exc).__name__
        key = REPLIES + request["id"]
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.rpush(key, json.dumps(reply))
            pipe.expire(key, REPLY_TTL_SECONDS)
            await pipe.execute()

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await self._redis.aclose()


def _encode_command(command: Command) -> dict[str, Any]:
    return {
        "argv": command.argv,
        "cwd": command.cwd,
        "stdin": base64.b64encode(command.stdin).decode(),
        "env": command.env,
    }


def _decode_command(data: dict[str, Any]) -> Command:
    return Command(
        argv=list(data["argv"]),
        cwd=str(data["cwd"]),
        stdin=base64.b64decode(data["stdin"]),
        env=dict(data["env"]),
    )
