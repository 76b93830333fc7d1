"""Computed action items: drift (from each workspace's latest drift report) and failed
deployments (each workspace's latest deployment, when it failed). Their ids are derived from
what they are about, so a dismissal sticks while the drift (the deployment) stays the same."""

from __future__ import annotations

import uuid

from orbiter.action_items.schemas import ActionItemRead, Severity
from orbiter.models import AppDeployment, DriftReport, Workspace

NAMESPACE = uuid.UUID("6f1d3a52-8f0e-4b3c-9a57-0c1e2d3f4a5b")
RISK_SEVERITY: dict[str, Severity] = {"high": "high", "medium": "medium", "low": "low"}


def computed_id(*parts: object) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, ":".join(str(part) for part in parts))


def _drift_id(report: DriftReport) -> uuid.UUID:
    if report.kind == "compare":
        details = report.details
        return computed_id(
            "drift",
            report.workspace_id,
            details.get("workspace_manifest_hash"),
            details.get("source_manifest_hash"),
        )
    return computed_id("drift", report.id)


def drift_item(workspace: Workspace, report: DriftReport) -> ActionItemRead | None:
    """The item for a workspace's latest drift report; None when nothing drifted."""
    changed = report.files_added + report.files_modified + report.files_deleted
    if changed == 0:
        return None
    risk = str(report.details.get("risk_level") or "low")
    overlaps = report.files_modified
    title = f"{workspace.name} has drifted: {changed} files differ"
    description = f"{report.summary or title}. " + (
        f"{overlaps} files changed on both sides: sync soon, then review the conflicts."
        if risk != "low"
        else "Nothing overlaps yet: a sync from main is safe now."
    )
    return ActionItemRead(
        id=_drift_id(report),
        kind="drift",
        severity=RISK_SEVERITY.get(risk, "low"),
        title=title,
        description=description,
        project_id=workspace.project_id,
        workspace_id=workspace.id,
        path=None,
        line=None,
        source="drift",
        details={
            "drift_report_id": str(report.id),
            "risk_level": risk,
            "files_added": report.files_added,
            "files_modified": report.files_modified,
            "files_deleted": report.files_deleted,
            "top_overlap_files": report.details.get("top_overlap_files") or [],
        },
        dismissed=False,
        dismissed_at=None,
        created_at=report.created_at,
    )


def deployment_item(deployment: AppDeployment) -> ActionItemRead:
    """The item for a failed deployment that is its workspace's latest."""
    where = "" if deployment.workspace_id is None else " of the workspace"
    return ActionItemRead(
        id=computed_id("deployment", deployment.id),
        kind="deployment",
        severity="high",
        title=f"A deployment{where} failed",
        description=(
            f"The {deployment.trigger} deployment failed: {deployment.error or 'no reason given'}"
            ". Read its logs, fix the cause and deploy again."
        ),
        project_id=deployment.project_id,
        workspace_id=deployment.workspace_id,
        path=None,
        line=None,
        source="deployment",
        details={
            "deployment_id": str(deployment.id),
            "provider": deployment.provider,
            "manifest_hash": deployment.manifest_hash,
        },
        dismissed=False,
        dismissed_at=None,
        created_at=deployment.completed_at or deployment.created_at,
    )
