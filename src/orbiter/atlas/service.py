"""Reading the atlas: the whole graph (bounded), and concepts ranked for a query."""

from __future__ import annotations

import re
import uuid
from typing import Literal

from sqlalchemy import Float, case, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from orbiter.atlas.builder import search_text
from orbiter.atlas.schemas import (
    AtlasRead,
    AtlasSearchHit,
    AtlasSearchResults,
    ConceptRead,
    EdgeRead,
)
from orbiter.atlas.vectors import has_vectors, rank_by_vector
from orbiter.knowledge.embeddings import embedder_for
from orbiter.knowledge.search import MIN_CANDIDATES, rrf
from orbiter.models import AtlasConcept, AtlasEdge, AtlasIndexState
from orbiter.runtime.resources import Resources
from orbiter.tenancy.access import load_project

MAX_GRAPH_CONCEPTS = 5000
MAX_GRAPH_EDGES = 10000
MAX_QUERY_WORDS = 8
# What a match of one query word is worth, by where it matches; code concepts rank above the
# files and folders that hold them when the match is as good.
WHOLE_NAME = 20.0
NAME_IS_WORD = 12.0
NAME_HAS_WORD = 6.0
TEXT_WORD = 2.0
TEXT_PREFIX = 1.0
LAYER_BONUS = {"class": 0.6, "type": 0.5, "function": 0.4, "module": 0.2, "system": 0.1}
_ALNUM = re.compile(r"[^a-z0-9]+")


async def read_atlas(db: AsyncSession, *, user_id: uuid.UUID, project_id: uuid.UUID) -> AtlasRead:
    await load_project(db, user_id=user_id, project_id=project_id)
    concepts = (
        await db.scalars(
            select(AtlasConcept)
            .where(AtlasConcept.project_id == project_id)
            .order_by(AtlasConcept.layer, AtlasConcept.path, AtlasConcept.line, AtlasConcept.id)
            .limit(MAX_GRAPH_CONCEPTS + 1)
        )
    ).all()
    edges = (
        await db.scalars(
            select(AtlasEdge)
            .where(AtlasEdge.project_id == project_id)
            .order_by(AtlasEdge.kind, AtlasEdge.id)
            .limit(MAX_GRAPH_EDGES + 1)
        )
    ).all()
    state = await db.get(AtlasIndexState, project_id)
    return AtlasRead(
        concepts=[
            ConceptRead.model_validate(c, from_attributes=True)
            for c in concepts[:MAX_GRAPH_CONCEPTS]
        ],
        edges=[EdgeRead.model_validate(e, from_attributes=True) for e in edges[:MAX_GRAPH_EDGES]],
        snapshot_id=state.snapshot_id if state else None,
        indexed_at=state.indexed_at if state else None,
        truncated=len(concepts) > MAX_GRAPH_CONCEPTS or len(edges) > MAX_GRAPH_EDGES,
    )


def _score(query: str) -> ColumnElement[float] | None:
    """The relevance of a concept to `query`: the whole name, then each word of the query
    (split like names are: `userStore` is `user store`) in the name's words, as a prefix of
    them, or anywhere in its words, path and description."""
    words = search_text(query).split()[:MAX_QUERY_WORDS]
    if not words:
        return None
    name = func.lower(AtlasConcept.name)
    padded_text = literal(" ") + func.lower(AtlasConcept.search_text) + literal(" ")
    whole = _ALNUM.sub("", query.lower())
    name_key = func.replace(func.replace(func.replace(name, "_", ""), "-", ""), ".", "")
    terms: list[ColumnElement[float]] = [case((name_key == whole, WHOLE_NAME), else_=0.0)]
    for word in words:
        terms.append(
            case(
                (name == word, NAME_IS_WORD),
                (name.contains(word, autoescape=True), NAME_HAS_WORD),
                (padded_text.contains(f" {word} ", autoescape=True), TEXT_WORD),
                (padded_text.contains(f" {word}", autoescape=True), TEXT_PREFIX),
                else_=0.0,
            )
        )
    bonus = case(
        *((AtlasConcept.layer == layer, value) for layer, value in LAYER_BONUS.items()),
        else_=0.0,
    )
    total = terms[0]
    for term in terms[1:]:
        total = total + term
    return (total + case((total > 0, bonus), else_=0.0)).cast(Float)


async def search_atlas(
    db: AsyncSession,
    resources: Resources,
    *,
    user_id: uuid.UUID,
    project_id: uuid.UUID,
    query: str,
    limit: int,
) -> AtlasSearchResults:
    """Concepts ranked by how well their name and text match `query`, best first; fused with
    their vector ranking when the caller's embedding model embedded them (`hybrid`)."""
    await load_project(db, user_id=user_id, project_id=project_id)
    score = _score(query)
    if score is None:
        return AtlasSearchResults(method="text", results=[])
    embedder = await embedder_for(db, resources, user_id)
    dimensions = await has_vectors(db, project_id, embedder.model) if embedder else None
    if embedder is None or dimensions is None:
        by_text = await _rank_by_text(db, project_id, score, limit)
        return await _results(db, "text", by_text)
    candidates = max(limit * 4, MIN_CANDIDATES)
    by_text = await _rank_by_text(db, project_id, score, candidates)
    by_vector = await rank_by_vector(db, project_id, embedder, dimensions, query, candidates)
    return await _results(db, "hybrid", rrf(by_text, by_vector)[:limit])


async def _rank_by_text(
    db: AsyncSession, project_id: uuid.UUID, score: ColumnElement[float], limit: int
) -> list[tuple[uuid.UUID, float]]:
    scored = score.label("score")
    rows = (
        await db.execute(
            select(AtlasConcept.id, scored)
            .where(AtlasConcept.project_id == project_id, score > 0)
            .order_by(scored.desc(), func.length(AtlasConcept.name), AtlasConcept.id)
            .limit(limit)
        )
    ).all()
    return [(concept_id, float(s)) for concept_id, s in rows]


async def _results(
    db: AsyncSession, method: Literal["text", "hybrid"], ranked: list[tuple[uuid.UUID, float]]
) -> AtlasSearchResults:
    ids = [concept_id for concept_id, _ in ranked]
    found = {
        c.id: c for c in await db.scalars(select(AtlasConcept).where(AtlasConcept.id.in_(ids)))
    }
    return AtlasSearchResults(
        method=method,
        results=[
            AtlasSearchHit(
                id=c.id,
                name=c.name,
                description=c.description,
                layer=c.layer,
                path=c.path,
                score=round(s, 3) if method == "text" else s,
            )
            for concept_id, s in ranked
            if (c := found.get(concept_id)) is not None
        ],
    )
