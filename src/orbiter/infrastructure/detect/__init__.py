"""Detection: what a project needs and how to run it, read from its files.

`detect_project({path: bytes})` is pure (`core.py`); `service.detect_for_project` reads a
project's manifest through the blob store and calls it.
"""

from orbiter.infrastructure.detect.core import ProjectDetection, SuggestedResource, detect_project
from orbiter.infrastructure.detect.model import Evidence, Finding, Plan

__all__ = ["Evidence", "Finding", "Plan", "ProjectDetection", "SuggestedResource", "detect_project"]
