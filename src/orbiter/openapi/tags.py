"""One description per tag (`openapi_tags`), in the order the documentation shows them."""

from __future__ import annotations

from typing import Any

_DESCRIPTIONS = {
    "auth": (
        "Accounts and sign-in: register, sign in with a password or Google, the browser "
        "session and its CSRF token, and the caller's sessions and bearer tokens."
    ),
    "oauth": (
        "The device authorization grant (RFC 8628) that command-line tools sign in with: "
        "start it, let the user approve the code at `/device`, then poll for a bearer token."
    ),
    "api-keys": (
        "API keys for scripts and CI jobs, created by a signed-in user. The key is shown once; "
        "scopes (`read`, `write`, `secrets:read`) and an expiry are optional."
    ),
    "ci": (
        "For CI jobs, with an API key only: check the key, register snapshots, read runs, "
        "redeploy deployments."
    ),
    "settings": (
        "The caller's preferences: theme, privacy mode, notifications, sounds, default model, "
        "enabled models and language."
    ),
    "projects": (
        "Projects and who works on them: members with a role (owner, editor, viewer), "
        "invitations by email, status and the activity log."
    ),
    "env-vars": (
        "A project's environment variables, encrypted at rest. Secret values are never listed; "
        "deployments read them with an API key that has the `secrets:read` scope."
    ),
    "docs": (
        "Documentation files (Markdown, plain text, reStructuredText, AsciiDoc, README...) "
        "found in the current manifests of a project's workspaces, and their text."
    ),
    "blobs": (
        "Content-addressed storage of file contents (blobs) and file lists (manifests), named "
        "by their SHA-256: upload, check, download with byte ranges, presigned URLs, usage and "
        "garbage collection. Each user sees only what they uploaded."
    ),
    "providers": (
        "The caller's LLM providers (OpenAI, Anthropic, OpenAI-compatible servers, Ollama), "
        "with API keys encrypted at rest and shown masked; one of them is the default."
    ),
    "chat": "Stateless calls to the model: a streamed chat completion, and code edits.",
    "workspaces": (
        "A project's workspaces (checkouts on people's machines): the current manifest, "
        "heartbeats, drift reports, comparison with another workspace, and the main workspace."
    ),
    "snapshots": (
        "Snapshots: an uploaded manifest recorded in a project with its parents, forming the "
        "project's history; listing and file-level diffs."
    ),
    "conversations": (
        "Conversations with the model in a project: messages and their replies (streamed as "
        "Server-Sent Events on request), the timeline, and live events over the WebSocket "
        "`/api/v1/conversations/{conversation_id}/stream`."
    ),
    "runs": (
        "Runs of agents, workflows, tasks and tools in the caller's projects: status, output, "
        "the trace (spans with input, output, tokens, cost and duration), cancel, and the "
        "run's events as Server-Sent Events."
    ),
    "tools": (
        "Tools agents can call: the built-ins (calculator, current_time, http_request, "
        "ask_user) and a project's custom HTTP tools, each with the JSON Schema of its input; "
        "invoke one to try it."
    ),
    "agents": (
        "Agents of a project: instructions, a model and tools. A run of an agent calls the "
        "model and the tools it asks for until it answers; it runs in the background and can "
        "stream its events, and in a conversation it writes the reply."
    ),
    "workflows": (
        "Workflows of a project: a canvas of nodes and edges as a ReactFlow editor saves it, "
        "validated at every save (node types, settings, edges, one trigger, no cycle), and "
        "the immutable version each changed canvas becomes."
    ),
    "deployments": (
        "Deployments publish an agent or a workflow of a project at a pinned version. Invoke "
        "one with your credentials or with the deployment's own key (shown once, revocable, "
        "good for that deployment only); redeploy from CI to pin the latest version."
    ),
    "search": (
        "Full-text search across the projects, agents, workflows, tools, conversations and "
        "messages of the caller's projects: ranked hits with a highlighted snippet."
    ),
    "monitoring": (
        "Token and cost totals of the LLM calls in the caller's projects (by day, provider, "
        "model, agent or workflow), and the backing services' health with the recent request "
        "rate, error rate and latency across replicas."
    ),
    "tasks": (
        "Coding-agent tasks on a git repository: clone (https, public hosts), the built-in "
        "coding agent works in a sandbox, commits to a new branch and pushes it with your "
        "`github` credential; progress, logs (also as SSE), cancel, delete."
    ),
    "sandbox": (
        "Run code and terminal commands in isolated sandboxes on the server's host (bubblewrap: "
        "own filesystem, no network, CPU, memory, process, disk and time limits, killed at "
        "expiry; limits per plan). Also `GET /sandbox/templates`: what this host can run, and "
        "`/sandbox/{id}/web/{path}`: a web template's server, proxied."
    ),
    "files": (
        "A workspace's working tree, read and written file by file: each write stores the "
        "files' blobs and a new manifest, moves the workspace by compare-and-set (409 on a "
        "stale `base_manifest_hash`) and keeps the version as a snapshot. Without "
        "`workspace_id`, your own scratch workspace."
    ),
    "project-knowledge": (
        "What Orbiter knows about a project: its intent and brief, next steps suggested by "
        "your LLM provider (each with a rationale), and decisions found in its conversations."
    ),
    "atlas": (
        "A graph of a project's code built from its latest snapshot: systems, modules, "
        "classes, functions and types, import edges; ranked search and stored diagrams "
        "(with Mermaid text)."
    ),
    "alerts": (
        "Alert rules on a project's failed runs or spend, or the service's error rate or "
        "latency, evaluated every minute: a firing and its resolving are events, delivered as "
        "a signed webhook (Standard Webhooks), an email or a project activity event; every "
        "delivery attempt is listed."
    ),
    "waveforms": (
        "The caller's simulation waveforms (VCD, FST, GHW): upload, parsed at once into the "
        "signal hierarchy and time range; a signal's value changes over a time window, "
        "down-sampled to a bound; download of the original; delete."
    ),
    "knowledge": (
        "Knowledge bases of a project and their documents (txt, md, html, json, csv, pdf): "
        "stored by content hash, their text extracted, chunked and indexed in the background; "
        "ranked chunk search by full text, fused with vector similarity when an embedding "
        "model is configured on a provider."
    ),
    "infrastructure": (
        "Deploying projects: your credential per deploy provider (checked with the provider, "
        "encrypted, never returned), what a project needs and how to run it (detected from its "
        "files), and the resources (databases, caches) provisioned for it; the built-in "
        "`local` provider makes SQLite files and Redis databases on this host. Deploying "
        "a workspace's files (the `local` provider builds and starts them in a sandbox on "
        "this host, health-checked, live at a loopback URL; redeploying stops the previous "
        "one), per-workspace deployment settings, the list of deployments, and the "
        "pipeline's status callback (the deployment's own token)."
    ),
    "github": (
        "GitHub through your `github` infrastructure credential (else the server's token): "
        "the signed-in account, repositories and organizations; GitHub Enterprise by "
        "`ORBITER_GITHUB_API_URL` or the credential's `host`. In their own rate-limit group."
    ),
    "action-items": (
        "What to act on in the caller's workspaces: drift against main, findings of the "
        "files' analysis (hard-coded secrets, untested modules, oversized files and "
        "functions), failed deployments; critical first; dismissible."
    ),
    "health": "Whether the service and its database, Redis and blob store answer. No sign-in.",
}

TAGS: list[dict[str, Any]] = [
    {"name": name, "description": description} for name, description in _DESCRIPTIONS.items()
]
