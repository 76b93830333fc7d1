"""Which errors an operation can answer: defaults read from the operation, plus its own.

Every request can be rate limited (429), meet an outage (503) or an unexpected failure (500).
The rest follows from what the operation takes: credentials (401, and 403 for the CSRF token,
the API key's scopes or the project role), path parameters (404, 422), query parameters (422,
and 400 for a bad `cursor`), a body (408, 413; a JSON body also 400, 415 and 422). What only
the operation's service knows (a 409 where it raises `Conflict`, a 502 where it calls an
upstream service) is listed in `OPERATION_ERRORS`, by operation id.
"""

from __future__ import annotations

from typing import Any

ALWAYS = frozenset({429, 500, 503})


def errors(*statuses: int) -> frozenset[int]:
    return frozenset(statuses)


OPERATION_ERRORS: dict[str, frozenset[int]] = {
    # Infrastructure and GitHub: 502 when the provider or GitHub fails, is unreachable, or
    # GitHub refuses the token; 404 for a GitHub owner that does not exist.
    "infrastructure-save-credential": errors(502),
    "infrastructure-delete-resource": errors(502),
    "github-get-user": errors(502),
    "github-list-repos": errors(404, 502),
    "github-list-orgs": errors(502),
    # Public sign-in forms refuse foreign origins (403); a bad password or credential: 401.
    "auth-register": errors(403, 409),
    "auth-login": errors(401, 403),
    "auth-google": errors(401, 403, 409, 502),
    "auth-link-google": errors(409, 502),
    "auth-logout": errors(400),
    "oauth-device-authorization": errors(415),
    # 400: the main workspace itself, or a project without one; 409: the workspace moved, the
    # preview was executed or expired, or there is no sync to undo.
    "workspaces-prepare-sync": errors(400, 409),
    "workspaces-execute-sync": errors(409),
    "workspaces-undo-sync": errors(409),
    "workspaces-analyze-drift": errors(400),
    "oauth-lookup-device": errors(404),
    "oauth-authorize-device": errors(404, 502),
    "oauth-deny-device": errors(404),
    "ci-register-snapshot": errors(400, 409),
    "projects-delete": errors(409),
    "projects-invite-member": errors(409),
    "projects-change-member-role": errors(409),
    "projects-remove-member": errors(409),
    "projects-accept-invitation": errors(409),
    "env-vars-set": errors(409),
    "env-vars-set-many": errors(409),
    "docs-read": errors(400, 404, 413),
    "blobs-upload": errors(400, 409),
    "blobs-upload-manifest": errors(400, 409),
    "providers-create": errors(409, 502),
    "providers-update": errors(409, 502),
    "chat-stream": errors(404, 502),  # 404: an unknown `provider_id`
    "chat-morph": errors(404, 502),
    "workspaces-create": errors(409),
    "workspaces-update": errors(409),
    "workspaces-delete": errors(409),
    "workspaces-set-current-manifest": errors(400, 409),
    "snapshots-create": errors(400, 409),
    "conversations-create": errors(404),
    # 409: the conversation has no workspace, or its workspace no files yet.
    "conversations-snapshot-workspace": errors(409),
    "conversations-list-messages": errors(400),
    "conversations-list-message-parts": errors(400),
    "conversations-post-message": errors(400, 502),
    "conversations-reply-to-question": errors(409),
    "conversations-reject-question": errors(409),
    "tools-list": errors(404),  # 404: a `project_id` that is not one of the caller's
    "tools-create": errors(404, 409, 502),
    "tools-update": errors(409, 502),
    "agents-list": errors(404),
    "agents-create": errors(404),
    "workflows-list": errors(404),  # 404: a `project_id` that is not one of the caller's
    "workflows-create": errors(404),
    # The creator no longer an editor (403), the trigger no longer a webhook (409).
    "workflows-receive-webhook": errors(403, 409),
    "agents-run": errors(409),
    "runs-cancel": errors(409),
    "runs-approve": errors(409),
    "runs-reject": errors(409),
    "runs-events": errors(400),
    "tasks-logs": errors(400),  # a Last-Event-ID that is not a line's seq
    "deployments-list": errors(404),  # 404: a `project_id` that is not one of the caller's
    "deployments-create": errors(404),
    "deployments-invoke": errors(409),  # 409: the target (or its pinned version) was deleted
    # 404: a `workspace_id` the caller cannot read; 409: at the most live sandboxes
    "sandbox-create": errors(404, 409),
    "sandbox-run-terminal": errors(404),  # 404: an `sbxId` that is not one of the caller's
    # A web sandbox's server: 502 when it does not answer (or, relayed from another replica,
    # its answer is over the cap), 413 for a request body over the cap when relayed.
    **{
        f"sandbox-proxy-web-{method}": errors(413, 502)
        for method in ("get", "head", "post", "put", "patch", "delete", "options")
    },
    # 400: a bad path or tree; 404: no such file; 409: a stale base or an existing path.
    "files-read-tree": errors(404),
    "files-read-content": errors(400, 404, 413),
    "files-create": errors(400, 404, 409),
    "files-delete": errors(400, 404, 409),
    "files-update-content": errors(400, 404, 409),
    "files-apply-batch": errors(400, 404, 409),
    # 400: no snapshot yet, or its manifest is not in the store; 502: the embedding provider.
    "atlas-index": errors(400, 502),
    "atlas-search": errors(502),  # the embedding provider, embedding the query
    "project-knowledge-generate-next-steps": errors(502),
    "project-knowledge-extract-decisions": errors(502),
    "alerts-list-rules": errors(404),  # 404: a `project_id` that is not one of the caller's
    "alerts-create-rule": errors(404),
    # Not multipart or not a waveform (415), no file or one that does not parse (422), an
    # interrupted upload (400), a `project_id` that is not the caller's (404; 403 as viewer).
    "waveforms-upload": errors(400, 404, 415, 422),
    "knowledge-list-bases": errors(404),  # 404: a `project_id` that is not one of the caller's
    "knowledge-create-base": errors(404),
    # 400: a multipart body that does not parse; 415: not txt, md, html, json, csv or pdf.
    "knowledge-upload-document": errors(400, 415),
    # 502: the caller's embedding provider failed to embed the query
    "knowledge-query-base": errors(502),
    "knowledge-search-documents": errors(502),
    "action-items-list": errors(404),  # a `project_id` not one of the caller's
    "action-items-apply-run": errors(409),  # the patch no longer applies, or was applied
    # i16-deploy: a status move the machine refuses (an ended deployment, going backwards).
    "infrastructure-report-deployment-status": errors(409),
}


# Path parameters that name what the operation stores, not something it looks up: no 404.
NOT_FOUND_NEVER = frozenset({"blobs-upload", "blobs-upload-manifest"})


def _has_json_body(operation: dict[str, Any]) -> bool:
    """A body FastAPI parses as JSON: `application/json` alone, and not raw bytes."""
    content: dict[str, Any] = operation.get("requestBody", {}).get("content", {})
    if set(content) != {"application/json"}:
        return False
    schema: dict[str, Any] = content["application/json"].get("schema", {})
    return schema.get("format") != "binary"


def default_errors(operation: dict[str, Any], *, public: bool) -> frozenset[int]:
    statuses = set(ALWAYS)
    if not public or operation.get("security"):
        statuses |= {401, 403}
    params = operation.get("parameters", [])
    if any(p["in"] == "path" for p in params):
        statuses |= {404, 422}
    if any(p["in"] == "query" for p in params):
        statuses.add(422)
    if any(p["in"] == "query" and p["name"] == "cursor" for p in params):
        statuses.add(400)
    if "requestBody" in operation:
        statuses |= {408, 413}
    if _has_json_body(operation):
        statuses |= {400, 415, 422}
    return frozenset(statuses)


def operation_errors(operation: dict[str, Any], *, public: bool) -> frozenset[int]:
    operation_id = operation.get("operationId", "")
    statuses = default_errors(operation, public=public) | OPERATION_ERRORS.get(
        operation_id, frozenset()
    )
    return statuses - {404} if operation_id in NOT_FOUND_NEVER else statuses
