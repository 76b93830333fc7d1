"""Workflows: canvases of nodes and edges, validated at save, kept in immutable versions."""
