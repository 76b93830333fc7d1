"""What a node raises to fail (imported by templates and by every node module)."""

from __future__ import annotations


class NodeError(Exception):
    """The node failed, with a message for the run's trace and error; `code` names the kind."""

    def __init__(self, message: str, code: str = "NODE_FAILED") -> None:
        super().__init__(message)
        self.message = message
        self.code = code
