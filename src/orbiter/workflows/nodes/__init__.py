"""Every node type, registered in `base.REGISTRY` when this package is imported."""

from orbiter.workflows.nodes import ai, data, logic, outputs, tools, triggers
from orbiter.workflows.nodes.base import REGISTRY, NodeType

__all__ = ["REGISTRY", "NodeType", "ai", "data", "logic", "outputs", "tools", "triggers"]
