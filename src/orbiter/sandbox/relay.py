"""Any replica serves any sandbox: a request for a sandbox held by another host (a command,
a delete, an HTTP request to its web server) is relayed to that host through Redis, and its
answer comes back the same way.

Each host pops the requests addressed to it from its own list (`orbiter:sandbox:to:<host>`,
BLPOP) and answers each in its own task. Every process that makes sandboxes pops (the API's
and `orbiter worker`), so a host that runs only workers answers too. The caller waits for the
reply on a key of its own (`orbiter:sandbox:reply:<request id>`, BLPOP with a deadline). A
request carries its deadline, so one that waited in the list of a host that was down is
dropped, not run late. An operation's payload and result are JSON objects; an `AppError` the
holder raised comes back as the same status and message. Without Redis there is one process
and nothing to relay.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from redis.asyncio import Redis

from orbiter.core.errors import STATUS_CODES, AppError, ServiceUnavailable

logger = logging.getLogger("orbiter.sandbox")
REQUESTS = "orbiter:sandbox:to:"
REPLIES = "orbiter:sandbox:reply:"
POP_SECONDS = 1
MARGIN_SECONDS = 10.0  # beyond the operation's own wait: start-up, Redis, the reply
REPLY_TTL_SECONDS = 60

Payload = dict[str, Any]
# (operation, sandbox id, payload) -> the result, or None
Handler = Callable[[str, uuid.UUID, Payload], Awaitable[Payload | None]]


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
        payload: Payload | None = None,
        *,
        wait_seconds: float,
    ) -> Payload | None:
        """Have host `holder` do `operation`; 503 when it does not answer in time, the
        holder's own error when it raised one."""
        request_id = uuid.uuid4().hex
        deadline = time.time() + wait_seconds + MARGIN_SECONDS
        request = {
            "id": request_id,
            "operation": operation,
            "sandbox_id": str(sandbox_id),
            "payload": payload or {},
            "deadline": deadline,
        }
        await self._redis.rpush(REQUESTS + holder, json.dumps(request))
        reply = await self._redis.blpop(
            [REPLIES + request_id], timeout=max(1, int(deadline - time.time()) + 1)
        )
        if reply is None:
            raise ServiceUnavailable(f"The host holding this sandbox ({holder}) did not answer")
        body: dict[str, Any] = json.loads(reply[1])
        if error := body.get("error"):
            raise _error_from(holder, error)
        result: Payload | None = body.get("result")
        return result

    async def serve(self, handler: Handler, stop: asyncio.Event) -> None:
        """Answer the requests addressed to this host until `stop` is set."""
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
            sandbox_id = uuid.UUID(request["sandbox_id"])
            reply["result"] = await handler(request["operation"], sandbox_id, request["payload"])
        except AppError as exc:
            reply["error"] = {
                "status": exc.status_code,
                "message": exc.message,
                "details": exc.details,
            }
        except Exception as exc:
            logger.exception("sandbox relay: %s failed", request["operation"])
            reply["error"] = {"status": 503, "message": type(exc).__name__}
        key = REPLIES + request["id"]
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.rpush(key, json.dumps(reply))
            pipe.expire(key, REPLY_TTL_SECONDS)
            await pipe.execute()

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await self._redis.aclose()


def _error_from(holder: str, error: dict[str, Any]) -> AppError:
    kind = STATUS_CODES.get(int(error.get("status", 503)))
    if kind is None or (kind is ServiceUnavailable and "details" not in error):
        return ServiceUnavailable(
            f"The host holding this sandbox ({holder}) failed: {error.get('message')}"
        )
    return kind(str(error.get("message")), details=error.get("details"))
