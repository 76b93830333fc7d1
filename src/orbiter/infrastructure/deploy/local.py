"""The `local` compute: deployed apps built and run in sandboxes of this process, each
reached on a loopback port of this host.

Each deployment gets a work dir (`<sandbox dir>/deployments/<id>/`) with the project's files.
The build command runs there like a sandbox command (bounded by the sandbox limits, with
`ORBITER_DEPLOY_BUILD_SECONDS` as its wall clock). The start command then runs in a
long-lived sandbox with no network (`SandboxRunner.serve`): it must listen on `$PORT`
(8000) on the sandbox's own loopback; the host relays `127.0.0.1:<ephemeral port>` to it
through a Unix socket (`orbiter.sandbox.expose`), and that is the deployment's URL.

The apps live in this process: it keeps them in `apps` and, every
`ORBITER_DEPLOY_WATCH_SECONDS`, reads their rows. One whose deployment was stopped elsewhere
(a redeploy's `live`, the status callback) is stopped here; one whose process exited is
reported `failed` with its output. When the process stops, its apps stop with it and are
reported `failed` ("its host process stopped").
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from dataclasses import dataclass, field, replace
from pathlib import Path

import httpx
from sqlalchemy import select

from orbiter.core.db import transaction
from orbiter.core.errors import Conflict
from orbiter.infrastructure.deploy.reporting import append_logs, report_status
from orbiter.infrastructure.deploy.statuses import RUNNING
from orbiter.models import AppDeployment
from orbiter.runtime.resources import Resources
from orbiter.sandbox import (
    Command,
    CommandResult,
    Exposed,
    Limits,
    SandboxRunner,
    TcpForward,
    create_runner,
    limits_from,
    sandbox_root,
)
from orbiter.sandboxes.host import remove_tree

logger = logging.getLogger("orbiter.deploy")

APP_PORT = 8000  # where the app listens inside its sandbox ($PORT)
HEALTH_TIMEOUT_SECONDS = 5.0
HEALTH_POLL_SECONDS = 0.2
HOST_STOPPED = "its host process stopped"
REAP_DEAD_SECONDS = 10.0


@dataclass
class RunningApp:
    deployment_id: uuid.UUID
    exposed: Exposed
    forward: TcpForward
    started: float = field(default_factory=time.monotonic)

    @property
    def url(self) -> str:
        return self.forward.url


@dataclass(frozen=True)
class AppSpec:
    """How the app's commands run: its environment (`PORT` included) and the port it
    listens on inside its sandbox."""

    env: dict[str, str] = field(default_factory=dict)
    port: int = APP_PORT

    def command(self, line: str) -> Command:
        env = {**self.env, "PORT": str(self.port), "HOST": "127.0.0.1"}
        return Command(["bash", "-c", line], env=env)


@dataclass(frozen=True)
class StartFailure:
    reason: str
    output: list[str]


class LocalApps:
    def __init__(self, resources: Resources) -> None:
        self.resources = resources
        self.settings = resources.settings
        self._runner: SandboxRunner | None = None
        self._runner_root: Path | None = None
        self.name = f"{socket.gethostname()}:{os.getpid()}"
        self.apps: dict[uuid.UUID, RunningApp] = {}
        self._stop = asyncio.Event()
        self._watcher: asyncio.Task[None] | None = None

    @property
    def runner(self) -> SandboxRunner:
        """The runner for the sandbox dir the settings name now (read at each use, so a
        changed `ORBITER_SANDBOX_DIR` applies to the next deployment)."""
        root = sandbox_root(self.settings)
        if self._runner is None or self._runner_root != root:
            self._runner, self._runner_root = create_runner(self.settings), root
        return self._runner

    @property
    def root(self) -> Path:
        return sandbox_root(self.settings) / "deployments"

    # ---------------------------------------------------------------- the pipeline's steps
    async def unavailable_reason(self) -> str | None:
        return await self.runner.probe(limits_from(self.settings))

    def work_dir(self, deployment_id: uuid.UUID) -> Path:
        return self.root / str(deployment_id)

    def prepare(self, deployment_id: uuid.UUID) -> Path:
        self.root.mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o711)
        work_dir = self.work_dir(deployment_id)
        self.runner.prepare(work_dir)
        return work_dir

    async def build(self, deployment_id: uuid.UUID, command: str, app: AppSpec) -> CommandResult:
        limits = replace(
            limits_from(self.settings), wall_seconds=self.settings.deploy_build_seconds
        )
        return await self.runner.run(
            _key(deployment_id), self.work_dir(deployment_id), app.command(command), limits
        )

    async def start(
        self, deployment_id: uuid.UUID, command: str, health_path: str, app: AppSpec
    ) -> RunningApp | StartFailure:
        """Start the app and wait until `health_path` answers (any status below 500)."""
        exposed = await self.runner.serve(
            _key(deployment_id),
            self.work_dir(deployment_id),
            app.command(command),
            self._limits(),
            port=app.port,
        )
        deadline = time.monotonic() + self.settings.deploy_health_seconds
        reason = await _healthy(exposed, health_path, deadline, app.port)
        if reason is not None:
            await exposed.close()
            return StartFailure(reason, _output_lines(exposed))
        forward = await exposed.forward_tcp()
        return RunningApp(deployment_id, exposed, forward)

    def _limits(self) -> Limits:
        return replace(limits_from(self.settings), cpu_seconds=self.settings.deploy_cpu_seconds)

    def keep(self, app: RunningApp) -> None:
        self.apps[app.deployment_id] = app

    async def discard(self, deployment_id: uuid.UUID, app: RunningApp | None = None) -> None:
        """Stop the app (if it runs here) and delete its work dir."""
        app = self.apps.pop(deployment_id, None) or app
        if app is not None:
            await app.forward.close()
            await app.exposed.close()
        await self.runner.kill(_key(deployment_id))
        await asyncio.to_thread(remove_tree, self.work_dir(deployment_id))

    # ---------------------------------------------------------------- the watcher
    def start_watching(self) -> None:
        self._watcher = asyncio.create_task(self._watch(), name="deploy-watcher")

    async def _watch(self) -> None:
        last_reap = 0.0
        while not self._stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self.settings.deploy_watch_seconds)
            if self._stop.is_set():
                return
            try:
                await self.check()
                if time.monotonic() - last_reap >= REAP_DEAD_SECONDS:
                    last_reap = time.monotonic()
                    await self.reap_dead()
            except Exception:
                logger.warning("deploy watcher: check failed; retrying", exc_info=True)

    async def reap_dead(self) -> None:
        """Deployments running in a process of this host that is gone (killed): `failed`."""
        hostname, _, _ = self.name.rpartition(":")
        async with self.resources.sessionmaker() as db:
            rows = await db.execute(
                select(AppDeployment.id, AppDeployment.host).where(
                    AppDeployment.status.in_(RUNNING),
                    AppDeployment.host.like(f"{hostname}:%"),
                )
            )
            dead = [row.id for row in rows if not _process_alive(row.host)]
        for deployment_id in dead:
            with contextlib.suppress(Conflict):
                async with transaction(self.resources.sessionmaker) as db:
                    await report_status(db, deployment_id, "failed", error=HOST_STOPPED)

    async def check(self) -> None:
        """Stop the apps whose deployment is no longer live; report the ones that exited."""
        if not self.apps:
            return
        async with self.resources.sessionmaker() as db:
            rows = await db.execute(
                select(AppDeployment.id, AppDeployment.status).where(
                    AppDeployment.id.in_(list(self.apps))
                )
            )
            statuses = {row.id: row.status for row in rows}
        for deployment_id, app in list(self.apps.items()):
            status = statuses.get(deployment_id)
            if status != "live":
                await self._stopped_elsewhere(deployment_id, app)
            elif not app.exposed.alive or _expired(app, self.settings.deploy_max_seconds):
                await self._ended(deployment_id, app)

    async def _stopped_elsewhere(self, deployment_id: uuid.UUID, app: RunningApp) -> None:
        await self.discard(deployment_id)
        async with transaction(self.resources.sessionmaker) as db:
            await append_logs(db, deployment_id, "app", _output_lines(app.exposed))
            await append_logs(db, deployment_id, "system", ["the app was stopped"])

    async def _ended(self, deployment_id: uuid.UUID, app: RunningApp) -> None:
        alive = app.exposed.alive
        await self.discard(deployment_id)
        async with transaction(self.resources.sessionmaker) as db:
            await append_logs(db, deployment_id, "app", _output_lines(app.exposed))
            if alive:
                await report_status(db, deployment_id, "stopped", error=None)
            else:
                code = app.exposed.exit_code
                await report_status(db, deployment_id, "failed", error=f"the app exited ({code})")

    async def stop(self) -> None:
        """This process is stopping: its apps stop with it, and say so."""
        self._stop.set()
        if self._watcher is not None:
            with contextlib.suppress(Exception):
                await self._watcher
        for deployment_id, app in list(self.apps.items()):
            await self.discard(deployment_id)
            with contextlib.suppress(Exception):
                async with transaction(self.resources.sessionmaker) as db:
                    await append_logs(db, deployment_id, "app", _output_lines(app.exposed))
                    await report_status(db, deployment_id, "failed", error=HOST_STOPPED)
        await self.runner.kill_all()


def _process_alive(host: str | None) -> bool:
    """Whether the process named `<hostname>:<pid>` (on this host) still runs."""
    pid = (host or "").rpartition(":")[2]
    if not pid.isdigit():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _key(deployment_id: uuid.UUID) -> str:
    return f"deploy-{deployment_id}"


def _expired(app: RunningApp, max_seconds: float) -> bool:
    return time.monotonic() - app.started > max_seconds


async def _healthy(exposed: Exposed, path: str, deadline: float, port: int) -> str | None:
    """None once `path` answers below 500; else why not (it exited, or never answered)."""
    if not await exposed.wait_ready(max(0.0, deadline - time.monotonic())):
        if not exposed.alive:
            return f"the app exited ({exposed.exit_code}) before listening on port {port}"
        return f"the app did not listen on port {port} in time"
    last = "no answer"
    async with exposed.http_client(timeout=HEALTH_TIMEOUT_SECONDS) as http:
        while exposed.alive:
            try:
                response = await http.get(path)
                if response.status_code < 500:
                    return None
                last = f"status {response.status_code}"
            except httpx.HTTPError as exc:
                last = type(exc).__name__
            if time.monotonic() >= deadline:
                break
            await asyncio.sleep(HEALTH_POLL_SECONDS)
    if not exposed.alive:
        return f"the app exited ({exposed.exit_code}) during its health check"
    return f"health check GET {path} failed: {last}"


def _output_lines(exposed: Exposed) -> list[str]:
    stdout, stderr = exposed.output()
    return output_lines(stdout, stderr)


def output_lines(stdout: str, stderr: str) -> list[str]:
    return [line for text in (stdout, stderr) for line in text.splitlines() if line.strip()]
