"""A project's provisioned resources; `provision_resource` and `resource_env` are for the
deploy pipeline (see `service.py`)."""

from orbiter.infrastructure.resources.service import (
    ProjectResource,
    provision_resource,
    resource_env,
)

__all__ = ["ProjectResource", "provision_resource", "resource_env"]
