"""Every SQLAlchemy model, importable from one place (Alembic reads `Base.metadata`)."""

from orbiter.models.base import Base
from orbiter.models.credentials import AccessToken, ApiKey, DeviceAuthorization
from orbiter.models.project import ROLES, Event, Project, ProjectMember
from orbiter.models.settings import UserSettings
from orbiter.models.user import User

__all__ = [
    "ROLES",
    "AccessToken",
    "ApiKey",
    "Base",
    "DeviceAuthorization",
    "Event",
    "Project",
    "ProjectMember",
    "User",
    "UserSettings",
]
