"""What other domains read from the atlas: a short summary for prompts, and concepts by name."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from orbiter.models import AtlasConcept

SUMMARY_CONCEPTS = 60
SUMMARY_EXTERNALS = 30
MAX_NAMES = 500


async def atlas_summary(db: AsyncSession, *, project_id: uuid.UUID) -> dict[str, Any]:
    """Systems with their module counts and languages, main exported classes and types, and
    the external packages imported; empty lists before the first index."""
    rows = (
        await db.execute(
            select(AtlasConcept.layer, AtlasConcept.name, AtlasConcept.path, AtlasConcept.language)
            .where(AtlasConcept.project_id == project_id)
            .where(AtlasConcept.layer.in_(("system", "module", "external")))
        )
    ).all()
    systems = [name for layer, name, _, _ in rows if layer == "system"]
    externals = sorted(name for layer, name, _, _ in rows if layer == "external")
    concepts = (
        await db.scalars(
            select(AtlasConcept)
            .where(
                AtlasConcept.project_id == project_id,
                AtlasConcept.layer.in_(("class", "type")),
                AtlasConcept.exported.is_(True),
            )
            .order_by(AtlasConcept.path, AtlasConcept.line)
            .limit(SUMMARY_CONCEPTS)
        )
    ).all()
    return {
        "systems": sorted(systems),
        "modules": sum(1 for layer, *_ in rows if layer == "module"),
        "languages": sorted({lang for layer, _, _, lang in rows if layer == "module" and lang}),
        "main_concepts": [
            {"name": c.name, "layer": c.layer, "path": c.path, "about": c.description}
            for c in concepts
        ],
        "external_packages": externals[:SUMMARY_EXTERNALS],
    }


async def concepts_named(
    db: AsyncSession, *, project_id: uuid.UUID, names: set[str]
) -> dict[str, list[AtlasConcept]]:
    """The project's concepts whose name (any case) is one of `names`, by lower-case name."""
    wanted = sorted(names)[:MAX_NAMES]
    if not wanted:
        return {}
    rows = await db.scalars(
        select(AtlasConcept)
        .where(AtlasConcept.project_id == project_id, func.lower(AtlasConcept.name).in_(wanted))
        .order_by(AtlasConcept.layer, AtlasConcept.name, AtlasConcept.id)
    )
    found: dict[str, list[AtlasConcept]] = {}
    for row in rows:
        found.setdefault(row.name.lower(), []).append(row)
    return found
