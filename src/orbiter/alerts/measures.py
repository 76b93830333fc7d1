"""What a rule measures over its window ending at `now`.

- `run_failures`: runs of the rule's project that ended `failed` in the window;
- `cost`: the spend of the project's priced spans started in the window (monitoring/costs.py:
  the hourly rollup plus the edge hours' spans);
- `error_rate` (percent of 5xx) and `latency` (p95 in ms): from the request counters of
  core/request_stats.py, which count every request the service answered (they are not kept
  per project) over the last minutes, up to 15 (`checks.REQUEST_WINDOW_MINUTES`); they are
  read at the real time, whatever `now` an evaluation is given. No requests: no measure
  (None), which never fires.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from orbiter.core.db import read_only
from orbiter.core.request_stats import RequestStats, Window
from orbiter.models import Run
from orbiter.monitoring.costs import project_spend


@dataclass
class Measurer:
    """Measures for one evaluation pass: request windows are read once per length."""

    engine: AsyncEngine
    stats: RequestStats
    now: datetime
    _windows: dict[int, Window] = field(default_factory=dict)

    async def measure(
        self, condition_type: str, project_id: uuid.UUID, window_minutes: int
    ) -> float | None:
        since = self.now - timedelta(minutes=window_minutes)
        if condition_type == "run_failures":
            return float(await self._failed_runs(project_id, since))
        if condition_type == "cost":
            return await project_spend(
                self.engine, project_id=project_id, since=since, until=self.now
            )
        window = await self._window(window_minutes)
        if not window.requests:
            return None
        return window.error_rate if condition_type == "error_rate" else window.p95_ms

    async def _failed_runs(self, project_id: uuid.UUID, since: datetime) -> int:
        stmt = select(func.count()).where(
            Run.project_id == project_id,
            Run.status == "failed",
            Run.finished_at > since,
            Run.finished_at <= self.now,
        )
        async with read_only(self.engine) as conn:
            return int((await conn.execute(stmt)).scalar_one())

    async def _window(self, minutes: int) -> Window:
        if minutes not in self._windows:
            [self._windows[minutes]] = await self.stats.windows((minutes,))
        return self._windows[minutes]
