"""The deploy job (`infrastructure.deploy`): one deployment from `queued` to `live` or
`failed`.

It claims the deployment (`queued` → `building`: a second delivery of the job finds nothing
to claim), detects what the files need and how to run them (`infrastructure.detect`), makes
the plan (the workspace's deployment settings override the detected commands), writes the
files into the deployment's work dir, provisions the missing resources through the provider
(`provisioning`), runs the build command, starts the app (`deploying`), waits for its health
check, and reports it `live` with its URL, which stops the workspace's earlier deployments.
Any step that fails reports `failed` with the reason; the logs say what ran and what it
printed. Every report goes through `reporting`, the service the status callback uses too.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from dataclasses import dataclass
from functools import partial
from typing import Any

from sqlalchemy import update

from orbiter.blobs.access import read_manifest
from orbiter.core.db import transaction
from orbiter.core.errors import Conflict
from orbiter.infrastructure.deploy.auto import handle_manifest_moved
from orbiter.infrastructure.deploy.local import LocalApps, RunningApp, output_lines
from orbiter.infrastructure.deploy.planning import make_plan
from orbiter.infrastructure.deploy.provisioning import CannotRun, provision
from orbiter.infrastructure.deploy.records import DEPLOY_JOB
from orbiter.infrastructure.deploy.reporting import append_logs, report_status
from orbiter.infrastructure.deploy.settings_service import settings_for
from orbiter.infrastructure.detect.service import detect_manifest
from orbiter.models import AppDeployment, DeploymentSettings
from orbiter.sandbox import LIMIT_MESSAGES, CommandResult
from orbiter.sandboxes.workspace_files import write_manifest_files
from orbiter.workspaces.current_manifest import MANIFEST_MOVED_JOB

logger = logging.getLogger("orbiter.deploy")


class DeployFailed(Exception):
    def __init__(self, reason: str, lines: list[str] | None = None, stream: str = "system"):
        super().__init__(reason)
        self.reason = reason
        self.lines = lines or []
        self.stream = stream


@dataclass(frozen=True)
class Claimed:
    id: uuid.UUID
    project_id: uuid.UUID
    created_by: uuid.UUID | None
    manifest_hash: str
    settings: DeploymentSettings | None


def register_deploy_jobs(apps: LocalApps) -> None:
    queue = apps.resources.queue
    queue.register(DEPLOY_JOB, partial(handle_deploy, apps))
    queue.register(MANIFEST_MOVED_JOB, partial(handle_manifest_moved, apps.resources))


async def handle_deploy(apps: LocalApps, payload: dict[str, Any]) -> None:
    deployment_id = uuid.UUID(str(payload["deployment_id"]))
    claimed = await _claim(apps, deployment_id)
    if claimed is None:
        return
    try:
        await _deploy(apps, claimed)
    except DeployFailed as failure:
        await apps.discard(deployment_id)
        await _fail(apps, deployment_id, failure)
    except Exception:
        logger.exception("deployment %s: the pipeline failed", deployment_id)
        await apps.discard(deployment_id)
        await _fail(apps, deployment_id, DeployFailed("the pipeline failed unexpectedly"))


async def _claim(apps: LocalApps, deployment_id: uuid.UUID) -> Claimed | None:
    async with transaction(apps.resources.sessionmaker) as db:
        try:
            _, moved = await report_status(db, deployment_id, "building")
        except Conflict:
            return None  # stopped before it started
        deployment = await db.get(AppDeployment, deployment_id)
        if not moved or deployment is None or deployment.manifest_hash is None:
            return None
        deployment.host = apps.name
        settings = (
            await settings_for(db, deployment.workspace_id) if deployment.workspace_id else None
        )
        await append_logs(db, deployment_id, "system", [f"building on {apps.name}"])
        return Claimed(
            deployment_id,
            deployment.project_id,
            deployment.created_by,
            deployment.manifest_hash,
            settings,
        )


async def _deploy(apps: LocalApps, claimed: Claimed) -> None:
    manifest = await read_manifest(apps.resources.blobs, claimed.manifest_hash)
    detected = await detect_manifest(apps.resources.blobs, claimed.manifest_hash)
    plan = make_plan(claimed.settings, detected, network=apps.settings.sandbox_network)
    await _save(apps, claimed.id, plan=plan.as_dict(), lines=plan.describe())
    if plan.start_command is None:
        raise DeployFailed(
            "no start command: none was detected in the files; set start_command in the "
            "workspace's deployment settings"
        )
    if reason := await apps.unavailable_reason():
        raise DeployFailed(f"sandboxes cannot run on this host: {reason}")
    total = sum(entry.size for entry in manifest.files if entry.type == "file")
    if total > apps.settings.sandbox_disk_bytes:
        raise DeployFailed(f"the files ({total} bytes) exceed the sandbox's disk quota")
    work_dir = apps.prepare(claimed.id)
    await write_manifest_files(apps.resources.blobs, apps.runner, manifest, work_dir)
    try:
        made = await provision(
            apps,
            project_id=claimed.project_id,
            created_by=claimed.created_by,
            plan=plan,
            work_dir=work_dir,
        )
    except CannotRun as exc:
        raise DeployFailed(exc.reason) from exc
    await _save(
        apps,
        claimed.id,
        provisioned_resources=made.resources,
        lines=[_resource_line(r) for r in made.resources],
    )
    if plan.build_command:
        await _log(apps, claimed.id, [f"$ {plan.build_command}"])
        built = _check_build(await apps.build(claimed.id, plan.build_command, made.app))
        await _log(apps, claimed.id, built, stream="build")
    await _move(apps, claimed.id, "deploying", [f"$ {plan.start_command}"])
    started = await apps.start(claimed.id, plan.start_command, plan.health_path, made.app)
    if not isinstance(started, RunningApp):
        raise DeployFailed(started.reason, started.output, stream="app")
    await _go_live(apps, claimed.id, started)


def _resource_line(resource: dict[str, Any]) -> str:
    done = "provisioned" if resource["created"] else "uses"
    return f"{done} {resource['resource_type']} {resource['name']} ({resource['provider']})"


def _check_build(result: CommandResult) -> list[str]:
    """The build's output lines; DeployFailed when it failed."""
    lines = output_lines(result.stdout, result.stderr)
    if result.limit is not None:
        raise DeployFailed(f"the build was stopped: {LIMIT_MESSAGES[result.limit]}", lines, "build")
    if result.exit_code != 0:
        raise DeployFailed(f"the build failed (exit status {result.exit_code})", lines, "build")
    return lines


async def _go_live(apps: LocalApps, deployment_id: uuid.UUID, app: RunningApp) -> None:
    try:
        async with transaction(apps.resources.sessionmaker) as db:
            await report_status(db, deployment_id, "live", url=app.url)
            await append_logs(db, deployment_id, "system", [f"live at {app.url}"])
    except Conflict:  # stopped while it started
        await apps.discard(deployment_id, app)
        return
    apps.keep(app)
    await apps.check()  # the earlier deployments this process runs stop now


async def _save(
    apps: LocalApps, deployment_id: uuid.UUID, *, lines: list[str], **values: Any
) -> None:
    async with transaction(apps.resources.sessionmaker) as db:
        await db.execute(
            update(AppDeployment)
            .where(AppDeployment.id == deployment_id)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        await append_logs(db, deployment_id, "system", lines)


async def _log(
    apps: LocalApps, deployment_id: uuid.UUID, lines: list[str], stream: str = "system"
) -> None:
    async with transaction(apps.resources.sessionmaker) as db:
        await append_logs(db, deployment_id, stream, lines)


async def _move(apps: LocalApps, deployment_id: uuid.UUID, status: str, lines: list[str]) -> None:
    async with transaction(apps.resources.sessionmaker) as db:
        try:
            await report_status(db, deployment_id, status)
        except Conflict as exc:
            raise DeployFailed("stopped while it was being deployed") from exc
        await append_logs(db, deployment_id, "system", lines)


async def _fail(apps: LocalApps, deployment_id: uuid.UUID, failure: DeployFailed) -> None:
    async with transaction(apps.resources.sessionmaker) as db:
        await append_logs(db, deployment_id, failure.stream, failure.lines)
        await append_logs(db, deployment_id, "system", [f"failed: {failure.reason}"])
        with contextlib.suppress(Conflict):  # stopped meanwhile: that stands
            await report_status(db, deployment_id, "failed", error=failure.reason)
