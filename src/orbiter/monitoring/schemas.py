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
