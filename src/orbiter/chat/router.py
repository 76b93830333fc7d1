"""/api/v1/chat: stateless LLM calls (a streamed completion, and morph-chat code edits)."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import StreamingResponse

from orbiter.auth.dependencies import CurrentPrincipal
from orbiter.chat import service
from orbiter.chat.schemas import ChatRequest, FragmentRead, MorphChatRequest
from orbiter.core.sse import SSE_HEADERS, SSE_MEDIA_TYPE
from orbiter.providers.rate_limit import enforce_llm_rate_limit
from orbiter.runtime.deps import DbSession, ResourcesDep

router = APIRouter(prefix="/chat", tags=["chat"])

SSE_DESCRIPTION = (
    "Server-Sent Events, each with an `id:`: `delta` `{text}`, `tool_call` `{id, name, "
    "arguments}`, then `done` `{finish_reason, truncated, usage, model, provider_id}`; a "
    "failure after streaming began is an `error` event `{code, message}`."
)


@router.post(
    "",
    response_class=StreamingResponse,
    responses={
        200: {"content": {SSE_MEDIA_TYPE: {}}, "description": SSE_DESCRIPTION},
        502: {"description": "The LLM provider failed before the first token"},
    },
    summary="Stream a chat completion",
)
async def stream_chat(
    body: ChatRequest, principal: CurrentPrincipal, db: DbSession, resources: ResourcesDep
) -> StreamingResponse:
    """Stream a completion. Errors before the first token are normal JSON error envelopes."""
    decision = await enforce_llm_rate_limit(resources, principal)
    prepared = await service.start_chat(db, resources, user_id=principal.user_id, body=body)
    headers = {**SSE_HEADERS, **(decision.headers() if decision else {})}
    return StreamingResponse(
        service.sse_stream(prepared), media_type=SSE_MEDIA_TYPE, headers=headers
    )


@router.post(
    "/morph-chat",
    response_model=FragmentRead,
    responses={502: {"description": "The provider failed, or its edit could not be applied"}},
    summary="Edit code with the model",
)
async def morph_chat(
    body: MorphChatRequest,
    principal: CurrentPrincipal,
    db: DbSession,
    resources: ResourcesDep,
    response: Response,
) -> FragmentRead:
    """Ask the model to edit `current_fragment.code`; returns the fragment with the edit applied."""
    decision = await enforce_llm_rate_limit(resources, principal)
    if decision is not None:
        response.headers.update(decision.headers())
    return await service.morph_chat(db, resources, user_id=principal.user_id, body=body)
