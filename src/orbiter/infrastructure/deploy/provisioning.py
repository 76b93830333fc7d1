"""The resources a deployment needs, provisioned through the provider, and the environment
its app gets: the project's environment variables, and each resource's variables (e.g.
`DATABASE_URL`). A SQLite database file is hard-linked into the app's home
(`~/.orbiter-data/<file>`) and its variables name it there; Redis needs the network, which a
sandbox has only when the operator allows it. A resource the provider cannot make fails the
deployment, saying so.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orbiter.core.db import transaction
from orbiter.env_vars.service import deploy_values
from orbiter.infrastructure.deploy.local import APP_PORT, AppSpec, LocalApps
from orbiter.infrastructure.deploy.planning import Plan
from orbiter.infrastructure.providers import CannotProvision, ResourceType
from orbiter.infrastructure.resources.service import provision_resource, resource_env
from orbiter.sandbox import HOME

DATA_DIR = ".orbiter-data"  # in the app's home: where its SQLite files appear


class CannotRun(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Provisioned:
    app: AppSpec
    resources: list[dict[str, Any]]  # what this deployment needs, `created` when made now


async def provision(
    apps: LocalApps,
    *,
    project_id: uuid.UUID,
    created_by: uuid.UUID | None,
    plan: Plan,
    work_dir: Path,
) -> Provisioned:
    resources = apps.resources
    made: list[dict[str, Any]] = []
    async with transaction(resources.sessionmaker) as db:
        for needed in plan.requirements:
            kind = ResourceType(str(needed["type"]))
            if kind == ResourceType.REDIS and not apps.settings.sandbox_network:
                raise CannotRun(
                    "the app needs Redis, but its sandbox has no network to reach it "
                    "(the operator allows it with ORBITER_SANDBOX_NETWORK=true)"
                )
            try:
                resource = await provision_resource(
                    db, resources, project_id=project_id, resource_type=kind, created_by=created_by
                )
            except CannotProvision as exc:
                raise CannotRun(exc.message) from exc
            made.append(
                {
                    "id": str(resource.id),
                    "provider": resource.provider,
                    "resource_type": resource.resource_type,
                    "name": resource.name,
                    "created": resource.created,
                }
            )
        env = await resource_env(db, resources, project_id=project_id)
        own = await deploy_values(db, project_id=project_id, box=resources.secrets)
    env = _link_sqlite(apps, env, work_dir)
    return Provisioned(AppSpec(env={**env, **own}, port=plan.port or APP_PORT), made)


def _link_sqlite(apps: LocalApps, env: dict[str, str], work_dir: Path) -> dict[str, str]:
    """The SQLite file hard-linked into the app's home (the same file: what the app writes
    stays in the provider's file after the deployment's work dir is gone), and the variables
    naming it there."""
    host_path = env.get("SQLITE_PATH")
    if not host_path or not Path(host_path).is_file():
        return env
    folder = work_dir / DATA_DIR
    apps.runner.prepare(folder)
    link = folder / Path(host_path).name
    try:
        os.link(host_path, link)
    except OSError as exc:
        raise CannotRun(
            f"the SQLite database cannot be linked into the app's sandbox ({exc.strerror}): "
            "it must be on the same filesystem as the sandbox directory"
        ) from exc
    apps.runner.hand_over(link)  # the app's user writes it (and its journal, next to it)
    inside = f"{HOME}/{DATA_DIR}/{link.name}"
    return {name: value.replace(host_path, inside) for name, value in env.items()}
