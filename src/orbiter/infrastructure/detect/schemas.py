from __future__ import annotations

import uuid

from pydantic import BaseModel, Field


class EvidenceRead(BaseModel):
    file: str
    line: int = Field(description="1-based; 0 when the file's presence is the evidence")
    text: str = Field(description="The line itself, trimmed")


class FindingRead(EvidenceRead):
    kind: str = Field(
        description="runtime, framework, engine, database, cache, entry, start, build, port, "
        "health, env, lockfile, dockerfile or warning"
    )
    value: str


class Requirements(BaseModel):
    runtime: str | None = Field(description="node, python, go or docker; null: not recognised")
    runtime_version: str | None
    framework: str | None
    databases: list[str]
    caches: list[str]
    env_vars: list[str] = Field(description="Names from .env.example")


class SuggestedResourceRead(BaseModel):
    type: str
    env_var: str = Field(description="Where the app conventionally reads its connection URL")
    reason: str
    evidence: list[EvidenceRead]
    providers: list[str] = Field(description="Registered providers that can provision it")


class DeployPlan(BaseModel):
    """How to run the app (a documented addition): `$PORT` in `start_command` stands for the
    port the app must listen on, also passed as the `PORT` environment variable."""

    runtime: str | None
    framework: str | None
    install_command: str | None
    build_command: str | None
    start_command: str | None
    port: int | None = Field(description="A fixed port the app listens on, when it ignores $PORT")
    port_env: str = "PORT"
    health_path: str


class DetectionRead(BaseModel):
    project_id: uuid.UUID
    manifest_hash: str
    requirements: Requirements
    suggested_resources: list[SuggestedResourceRead]
    detection: list[FindingRead]
    deploy: DeployPlan
    skipped: list[str] = Field(description="Files detection wanted but did not read (too large)")
