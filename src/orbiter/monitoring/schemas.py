"""Bodies of /api/v1/monitoring."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

GroupBy = Literal["day", "provider", "model", "agent", "workflow"]


class CostBucket(BaseModel):
    key: str | None = Field(
        description="The day (YYYY-MM-DD), provider, model, agent id or workflow id; "
        "null when the spans have none (e.g. no provider recorded)"
    )
    tokens_in: int
    tokens_out: int
    cost: float | None = Field(
        description="Total cost; null for the bucket of spans whose model has no price "
        "(unpriced, not free): a key may have a priced and an unpriced bucket"
    )
    spans: int = Field(description="LLM calls (spans with token usage) counted")


class CostTotals(BaseModel):
    tokens_in: int
    tokens_out: int
    cost: float = Field(description="The priced spans' cost")
    unpriced_spans: int = Field(description="Spans counted whose cost is unknown")


class CostReport(BaseModel):
    group_by: GroupBy
    since: datetime | None
    until: datetime | None
    buckets: list[CostBucket]
    totals: CostTotals


class ServiceCheck(BaseModel):
    status: Literal["ok", "failed", "not_configured"]
    latency_ms: float | None = Field(description="Measured for this request; null if not run")
    error: str | None = None


class TrafficWindow(BaseModel):
    minutes: int
    requests: int
    requests_per_second: float
    error_rate: float = Field(description="Percent of the requests answered with a 5xx")
    p50_ms: float | None = Field(description="Upper bound of the latency bucket; null: none")
    p95_ms: float | None


class MonitoringHealth(BaseModel):
    status: Literal["ok", "degraded"]
    services: dict[str, ServiceCheck] = Field(
        description="database, redis (not_configured on the embedded backend), blob_store, queue"
    )
    traffic: list[TrafficWindow] = Field(
        description="The last 1, 5 and 15 minutes, across all replicas when Redis is configured"
    )
    shared: bool = Field(description="True when the traffic counters are shared through Redis")
