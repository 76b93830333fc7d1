from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from orbiter.core.schemas import Email, Name, RequestModel


class UserRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    email: str
    name: str | None
    picture: str | None
    plan: str
    created_at: datetime


class RegisterRequest(RequestModel):
    email: Email = Field(description="Stored NFKC-normalised and in lower case")
    password: str = Field(min_length=1, max_length=1024)
    name: Name | None = Field(default=None, max_length=200)


class LoginRequest(RequestModel):
    email: str = Field(min_length=1, max_length=320)
    password: str = Field(min_length=1, max_length=1024)


class LoginResponse(BaseModel):
    user: UserRead
    csrf_token: str


class CsrfResponse(BaseModel):
    csrf_token: str


class GoogleLoginRequest(RequestModel):
    model_config = ConfigDict(extra="ignore")  # Google's button also posts e.g. select_by

    credential: str = Field(min_length=1, max_length=8192, description="A Google ID token")


class TokenResponse(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - a token type, not a secret
    expires_in: int
    user: UserRead


class SessionRead(BaseModel):
    id: uuid.UUID
    kind: Literal["browser", "token"]
    device: str | None = Field(description="User agent or the client that asked for the token")
    ip: str | None = None
    created_at: datetime
    last_seen_at: datetime | None
    expires_at: datetime | None
    current: bool
