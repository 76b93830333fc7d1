from __future__ import annotations

import uuid

from pydantic import BaseModel


class WhoAmIUser(BaseModel):
    id: uuid.UUID
    email: str
    name: str | None


class WhoAmIKey(BaseModel):
    id: uuid.UUID
    name: str
    prefix: str
    scopes: list[str]


class WhoAmI(BaseModel):
    user: WhoAmIUser
    key: WhoAmIKey
