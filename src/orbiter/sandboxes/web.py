"""Web templates: the fragment's server runs in its sandbox and the API proxies to it.

The server is started with `SandboxHost.serve` (orbiter.sandbox.expose: a Unix socket the
host binds and passes in, relayed inside to the server's loopback port; the sandbox keeps no
network) and must listen within `ORBITER_SANDBOX_WEB_START_SECONDS`. It is reached at
`/api/v1/sandbox/{id}/web/{path}` (web_router.py) with the caller's credentials and scope,
while the server runs (503 otherwise; it does not outlive a restart of its host). Any process
of the holding host streams the exchange through the server's Unix socket; another replica
relays it whole through Redis (sandbox/relay.py, web_exchange.py), bodies capped at
`ORBITER_SANDBOX_WEB_RELAY_MAX_BYTES` each way.
"""

from __future__ import annotations

import json
import uuid
from pathlib import PurePosixPath

from orbiter.core.errors import NotFound
from orbiter.sandbox import HOME, CommandResult, Limits
from orbiter.sandbox.runner import Command
from orbiter.sandboxes.host import SandboxHost
from orbiter.sandboxes.templates import TEMPLATES, Template


async def start_server(
    host: SandboxHost,
    sandbox_id: uuid.UUID,
    template: Template,
    *,
    port: int,
    file_path: PurePosixPath,
    limits: Limits,
) -> CommandResult:
    """Start the server; once it listens, what it printed so far. A server that exits or
    does not listen in time is stopped and reported as the command's error."""
    argv = template.server_argv(host.settings, str(PurePosixPath(HOME, file_path)))
    command = Command(argv, env={"PORT": str(port)})
    exposed = await host.serve(sandbox_id, command, port, limits)
    ready = await exposed.wait_ready(host.settings.sandbox_web_start_seconds)
    if not ready:
        await exposed.close()
    stdout, stderr = exposed.output()
    if ready:
        return CommandResult(stdout=stdout, stderr=stderr, exit_code=0, side="", limit=None)
    code = exposed.exit_code if exposed.exit_code is not None else -1
    problem = (
        f"the server did not listen on port {port} within "
        f"{host.settings.sandbox_web_start_seconds:g} s"
    )
    error = {"name": "ServerNotListening", "value": problem, "traceback": stderr[-4000:]}
    return CommandResult(
        stdout=stdout,
        stderr=stderr,
        exit_code=code,
        side=json.dumps({"error": error}),
        limit=exposed.limit,
    )


def is_web(template_name: str) -> bool:
    template = TEMPLATES.get(template_name)
    return template is not None and template.kind == "web"


def web_url(base_url: str, sandbox_id: uuid.UUID) -> str:
    return f"{base_url}/sandbox/{sandbox_id}/web/"


def require_web(template: str) -> None:
    """404 for an interpreter sandbox: only a web template runs a server."""
    if not is_web(template):
        raise NotFound("This sandbox runs no web server (not a web template)")
