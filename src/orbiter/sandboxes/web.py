"""Web templates: the fragment's server runs in its sandbox and the API proxies to it.

The server is started with `SandboxHost.serve` (orbiter.sandbox.expose: a Unix socket the
host binds and passes in, relayed inside to the server's loopback port; the sandbox keeps no
network) and must listen within `ORBITER_SANDBOX_WEB_START_SECONDS`. It is reached at
`/api/v1/sandbox/{id}/web/{path}` (router.py): with the caller's credentials and scope, only
on the replica that holds the sandbox (another replica answers 409 naming the holder: bodies
are not relayed across replicas), and only while the server runs (503 otherwise; it does not
outlive a restart of its host).
"""

from __future__ import annotations

import json
import uuid
from pathlib import PurePosixPath

from orbiter.core.errors import Conflict, NotFound, ServiceUnavailable
from orbiter.sandbox import HOME, CommandResult, Exposed, Limits
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


def running_server(host: SandboxHost, template: str, holder: str, sandbox_id: uuid.UUID) -> Exposed:
    """The sandbox's server on this host: 404 for an interpreter sandbox, 409 when another
    replica holds it, 503 when its server is not running."""
    if not is_web(template):
        raise NotFound("This sandbox runs no web server (not a web template)")
    if holder != host.name:
        raise Conflict(
            f"This sandbox's server runs on host {holder!r}; its web URL is served by that "
            "host only (web requests are not relayed between replicas)",
            details={"host": holder},
        )
    exposed = host.exposed(sandbox_id)
    if exposed is None or not exposed.ready:
        raise ServiceUnavailable(
            "The sandbox's server is not running (it exited or its host restarted)"
        )
    return exposed
