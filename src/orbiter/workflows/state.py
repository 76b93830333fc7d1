"""What a workflow run keeps between executions (`ctx.state`): the results of the top-level
nodes, which edges carried output, the `vars`, and the approval decisions. A paused run (an
approval gate) or one handed back by a stopping worker continues from here."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class SavedState:
    results: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> {output, status}
    edges: dict[str, bool] = field(default_factory=dict)  # edge id -> carried output
    vars: dict[str, Any] = field(default_factory=dict)
    decisions: dict[str, dict[str, Any]] = field(default_factory=dict)  # gate id -> decision
    asked: dict[str, dict[str, Any]] = field(default_factory=dict)  # gate id -> {message, payload}
    gate: str | None = None  # the gate the run waits at

    @classmethod
    def load(cls, state: dict[str, Any]) -> SavedState:
        return cls(
            results=dict(state.get("results") or {}),
            edges=dict(state.get("edges") or {}),
            vars=dict(state.get("vars") or {}),
            decisions=dict(state.get("decisions") or {}),
            asked=dict(state.get("asked") or {}),
            gate=state.get("gate"),
        )

    def decide(self, decision: dict[str, Any]) -> None:
        if self.gate is not None:
            self.decisions[self.gate] = dict(decision)
            self.gate = None

    def dump(self) -> dict[str, Any]:
        return {
            "results": self.results,
            "edges": self.edges,
            "vars": self.vars,
            "decisions": self.decisions,
            "asked": self.asked,
            "gate": self.gate,
        }
