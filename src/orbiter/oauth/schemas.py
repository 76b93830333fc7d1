from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from orbiter.core.schemas import RequestModel


class DeviceCodeResponse(BaseModel):
    device_code: str
    user_code: str
    verification_uri: str
    verification_uri_complete: str
    expires_in: int
    interval: int


class UserCodeRequest(RequestModel):
    user_code: str = Field(min_length=1, max_length=32)


class DeviceAuthorizeRequest(UserCodeRequest):
    credential: str | None = Field(
        default=None, max_length=8192, description="A Google ID token, when not signed in"
    )


class DeviceRequestRead(BaseModel):
    """A pending device sign-in, as shown to the user before they approve it."""

    user_code: str
    client_id: str = Field(description="The client that started the flow (its `client_id`)")
    expires_at: datetime


class DeviceDecision(BaseModel):
    success: bool
    message: str


class OAuthErrorBody(BaseModel):
    error: str
    error_description: str
