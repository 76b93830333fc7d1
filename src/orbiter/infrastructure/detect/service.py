"""Detection for a project: its latest snapshot's (or a named manifest's) files, read through
the blob store, then `detect_project`."""

from __future__ import annotations

import asyncio
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from orbiter.blobs.usable import manifest_in_project
from orbiter.core.errors import NotFound
from orbiter.core.settings import Settings
from orbiter.infrastructure.detect.core import ProjectDetection, detect_project
from orbiter.infrastructure.detect.files import read_project_files
from orbiter.infrastructure.detect.schemas import (
    DeployPlan,
    DetectionRead,
    EvidenceRead,
    FindingRead,
    Requirements,
    SuggestedResourceRead,
)
from orbiter.infrastructure.providers import ResourceType, providers_for
from orbiter.runtime.resources import Resources
from orbiter.snapshots.service import latest_snapshot
from orbiter.storage import BlobNotFound, BlobStore
from orbiter.tenancy.access import load_project


async def detect_manifest(store: BlobStore, manifest_hash: str) -> ProjectDetection:
    """Detection over a stored manifest's files (the caller checked the manifest is visible)."""
    found = await read_project_files(store, manifest_hash)
    return await asyncio.to_thread(detect_project, found.files)


async def project_manifest(
    db: AsyncSession, *, project_id: uuid.UUID, manifest_hash: str | None
) -> str:
    """`manifest_hash` when the project uses it, else the latest snapshot's; 404 otherwise."""
    if manifest_hash is not None:
        if not await manifest_in_project(db, project_id=project_id, hash_=manifest_hash):
            raise NotFound("Manifest not found in this project")
        return manifest_hash
    snapshot = await latest_snapshot(db, project_id=project_id)
    if snapshot is None:
        raise NotFound(
            "The project has no snapshot to detect from; register one or pass manifest_hash"
        )
    return snapshot.manifest_hash


async def detect_for_project(
    db: AsyncSession,
    resources: Resources,
    *,
    user_id: uuid.UUID,
    project_id: uuid.UUID,
    manifest_hash: str | None,
) -> DetectionRead:
    await load_project(db, user_id=user_id, project_id=project_id)
    hash_ = await project_manifest(db, project_id=project_id, manifest_hash=manifest_hash)
    try:
        files = await read_project_files(resources.blobs, hash_)
    except BlobNotFound as exc:
        raise NotFound("The manifest is no longer in the blob store") from exc
    found = await asyncio.to_thread(detect_project, files.files)
    return detection_read(found, project_id, hash_, files.skipped, resources.settings)


def detection_read(
    found: ProjectDetection,
    project_id: uuid.UUID,
    manifest_hash: str,
    skipped: list[str],
    settings: Settings,
) -> DetectionRead:
    plan = found.plan
    return DetectionRead(
        project_id=project_id,
        manifest_hash=manifest_hash,
        requirements=Requirements(
            runtime=plan.runtime,
            runtime_version=plan.runtime_version,
            framework=plan.framework,
            databases=found.databases,
            caches=found.caches,
            env_vars=plan.env_vars,
        ),
        suggested_resources=[
            SuggestedResourceRead(
                type=s.type,
                env_var=s.env_var,
                reason=s.reason,
                evidence=[EvidenceRead(file=e.file, line=e.line, text=e.text) for e in s.evidence],
                providers=providers_for(ResourceType(s.type), settings),
            )
            for s in found.suggested_resources
        ],
        detection=[
            FindingRead(
                kind=f.kind,
                value=f.value,
                file=f.evidence.file,
                line=f.evidence.line,
                text=f.evidence.text,
            )
            for f in found.findings
        ],
        deploy=DeployPlan(
            runtime=plan.runtime,
            framework=plan.framework,
            install_command=plan.install_command,
            build_command=plan.build_command,
            start_command=plan.start_command,
            port=plan.port,
            health_path=plan.health_path,
        ),
        skipped=sorted(skipped),
    )
