"""The LLM's part of `drift/analyze`: an explanation and a recommendation in words, added next
to the deterministic answer (which it never changes). No provider: nothing is asked; a failing
call: the deterministic answer with a note."""

from __future__ import annotations

import json
import re
from typing import Any

from orbiter.core.errors import AppError
from orbiter.sync.assist import Assistant
from orbiter.sync.previews import SyncPlan
from orbiter.sync.schemas import DriftAnalysis

MAX_PATHS = 40
MAX_TEXT = 4000
MAX_REPLY_TOKENS = 800
SYSTEM = (
    "You advise a developer whose workspace has drifted from the project's main workspace. "
    "You get a deterministic analysis (risk level, whether a sync needs no decision, the "
    "paths main changed and the conflicting ones). Explain in a few sentences what syncing "
    "would bring in and what to watch for, and recommend what to do. Answer with one JSON "
    'object only: {"explanation": str, "recommendation": str}.'
)
_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.DOTALL)


def _paths(paths: list[str]) -> list[str]:
    return paths[:MAX_PATHS] + ([f"... {len(paths) - MAX_PATHS} more"] if paths[MAX_PATHS:] else [])


def _prompt(analysis: DriftAnalysis, plan: SyncPlan) -> str:
    facts = {
        "risk_level": analysis.risk_level,
        "can_auto_sync": analysis.can_auto_sync,
        "deterministic_recommendation": analysis.recommendation,
        "summary": analysis.source_changes_summary,
        "overlap_ratio": analysis.overlap_ratio,
        "added_in_main": _paths(plan.added),
        "changed_in_main": _paths(plan.updated),
        "deleted_in_main": _paths(plan.deleted),
        "merged_automatically": _paths([a.path for a in plan.auto_actions if a.action == "merged"]),
        "conflicts": [
            {"path": d.path, "reason": d.conflict_reason} for d in plan.decisions[:MAX_PATHS]
        ],
        "changed_only_here": analysis.changes_here,
    }
    return json.dumps(facts, indent=1)


def _read(reply: str) -> tuple[str, str | None]:
    """(explanation, recommendation) from the JSON object asked for; a reply that is not one
    is taken as the explanation."""
    fenced = _FENCE.search(reply)
    text = (fenced.group(1) if fenced else reply).strip()
    start, end = text.find("{"), text.rfind("}")
    value: Any = None
    if 0 <= start < end:
        try:
            value = json.loads(text[start : end + 1])
        except json.JSONDecodeError:
            value = None
    if isinstance(value, dict) and isinstance(value.get("explanation"), str):
        said = value.get("recommendation")
        recommendation = said.strip()[:MAX_TEXT] if isinstance(said, str) else None
        return value["explanation"].strip()[:MAX_TEXT], recommendation or None
    return reply.strip()[:MAX_TEXT], None


async def enrich(assistant: Assistant | None, analysis: DriftAnalysis, plan: SyncPlan) -> None:
    """Add the LLM's explanation and recommendation to `analysis` (in place)."""
    if assistant is None:
        return
    try:
        reply = await assistant.ask(SYSTEM, _prompt(analysis, plan), max_tokens=MAX_REPLY_TOKENS)
    except AppError as exc:
        analysis.notes.append(f"The LLM could not enrich this analysis: {exc.message}")
        return
    explanation, recommendation = _read(reply)
    if not explanation:
        analysis.notes.append("The LLM answered with an empty explanation")
        return
    analysis.llm_enriched = True
    analysis.enriched_by = assistant.use
    analysis.llm_explanation = explanation
    analysis.llm_recommendation = recommendation
