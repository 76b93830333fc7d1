"""/api/v1/workflows/{id}/webhook-token and the public hook /api/v1/hooks/workflows/{token}."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from orbiter.auth.dependencies import CurrentPrincipal
from orbiter.runs.http import IdempotencyKey
from orbiter.runtime.deps import DbSession, ResourcesDep
from orbiter.workflows import triggers
from orbiter.workflows.triggers import WebhookAccepted, WebhookReply, WebhookTokenRead

router = APIRouter(tags=["workflows"])

# Headers a workflow's api_response may not set on this server's answers: the framing, the
# cookies of this origin, and the security and CORS headers the middleware decides.
REFUSED_HEADERS = frozenset(
    {
        "connection",
        "content-length",
        "transfer-encoding",
        "set-cookie",
        "content-security-policy",
        "x-content-type-options",
        "x-frame-options",
        "referrer-policy",
        "strict-transport-security",
        "x-request-id",
    }
)
NO_BODY_STATUSES = frozenset({204, 304})
HOOK_BODY: dict[str, Any] = {
    "requestBody": {
        "required": False,
        "description": "Any JSON object: the run's inputs (an empty body is `{}`)",
        "content": {
            "application/json": {"schema": {"type": "object", "additionalProperties": True}}
        },
    }
}


@router.post(
    "/workflows/{workflow_id}/webhook-token",
    status_code=201,
    response_model=WebhookTokenRead,
    summary="Create or rotate a workflow's webhook token",
)
async def rotate_webhook_token(
    workflow_id: uuid.UUID,
    principal: CurrentPrincipal,
    db: DbSession,
    resources: ResourcesDep,
    request: Request,
) -> WebhookTokenRead:
    """A new secret token for the workflow's webhook (editor or owner), and the URL to POST
    to: shown in this response only (only its hash is stored). The previous token stops
    working. The hook starts runs while the workflow's trigger is a `webhook` node."""
    token = await triggers.rotate_webhook_token(
        db, user_id=principal.user_id, workflow_id=workflow_id
    )
    base = resources.settings.public_url or str(request.base_url)
    path = request.app.url_path_for("receive_webhook", token=token)
    return WebhookTokenRead(url=base.rstrip("/") + path, token=token)


@router.post(
    "/hooks/workflows/{token}",
    status_code=202,
    response_model=WebhookAccepted,
    summary="Start a workflow from its webhook",
    openapi_extra=HOOK_BODY,
    responses={200: {"description": "The answer of the run's `api_response` node (any status)"}},
)
async def receive_webhook(
    token: str,
    request: Request,
    resources: ResourcesDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Public (the token in the path is the credential). The JSON object sent becomes the
    run's inputs; the run acts as the workflow's creator (403 when they are no longer an
    editor of its project). Waits up to `ORBITER_WEBHOOK_WAIT_SECONDS` (10) for the run: when
    it reached an `api_response` node, the answer is that node's status, body and headers;
    otherwise 202 `{run_id, status}`. Unknown or rotated token: 404; the workflow's trigger is
    not `webhook` any more: 409; a body that is not a JSON object: 422."""
    reply = await triggers.receive_webhook(
        resources, token=token, body=await request.body(), idempotency_key=idempotency_key
    )
    if isinstance(reply, WebhookAccepted):
        return JSONResponse(reply.model_dump(mode="json"), status_code=202)
    return _response(reply)


def _response(reply: WebhookReply) -> Response:
    """A text body with its own Content-Type as it is; anything else as JSON."""
    headers = {k: v for k, v in reply.headers.items() if k.lower() not in REFUSED_HEADERS}
    if reply.status_code in NO_BODY_STATUSES:
        return Response(status_code=reply.status_code, headers=headers)
    typed = any(k.lower() == "content-type" for k in headers)
    if isinstance(reply.body, str) and typed:
        return Response(reply.body, status_code=reply.status_code, headers=headers)
    return JSONResponse(reply.body, status_code=reply.status_code, headers=headers)
