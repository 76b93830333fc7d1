"""An agent's settings as a deployment pins them, and an agent run that uses pinned ones.

A run whose input carries `pinned` (a deployment's copy of the agent at deploy time) runs
with those settings instead of the agent's current ones, so editing the agent changes nothing
for the deployment until it is redeployed.
"""

from __future__ import annotations

import uuid
from typing import Any

from orbiter.models import Agent

PINNED_SETTINGS = (
    "name",
    "instructions",
    "model",
    "provider_id",
    "temperature",
    "tool_ids",
    "max_steps",
)


def pinned_settings(agent: Agent) -> dict[str, Any]:
    """The agent's settings now, as JSON."""
    settings = {name: getattr(agent, name) for name in PINNED_SETTINGS}
    settings["provider_id"] = str(agent.provider_id) if agent.provider_id else None
    settings["tool_ids"] = list(agent.tool_ids)
    return settings


def with_pinned(agent: Agent, pinned: dict[str, Any] | None) -> Agent:
    """The agent as a run sees it: with `pinned` settings, a copy that is never stored."""
    if not pinned:
        return agent
    settings = {name: pinned.get(name) for name in PINNED_SETTINGS}
    provider_id = settings.pop("provider_id")
    return Agent(
        id=agent.id,
        project_id=agent.project_id,
        version=agent.version,
        provider_id=uuid.UUID(str(provider_id)) if provider_id else None,
        **{**settings, "tool_ids": list(settings["tool_ids"] or [])},
    )
