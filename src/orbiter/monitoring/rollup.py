"""The statements that (re)build `usage_rollups` from the spans (migration 0011's backfill,
and bench/monitoring.py's after it bulk-inserts spans straight into the table) and from the
conversation replies outside runs (migration 0012's, kind "chat") and from the other LLM calls
made for projects (kind "assist", runs/llm_calls.py)."""

from __future__ import annotations

from string import Template

HOUR = {
    "postgresql": "date_trunc('hour', s.started_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'",
    "sqlite": "strftime('%Y-%m-%d %H:00:00.000000', s.started_at)",
}
NO_TARGET = {
    "postgresql": "'00000000-0000-0000-0000-000000000000'::uuid",
    "sqlite": "'00000000000000000000000000000000'",
}


BACKFILL = Template(
    "INSERT INTO usage_rollups (project_id, hour, kind, target_id, provider, model, priced, "
    "tokens_in, tokens_out, cost, spans) "
    "SELECT s.project_id, $hour, r.kind, COALESCE(r.target_id, $no_target), "
    "COALESCE(s.provider, ''), COALESCE(s.model, ''), s.cost IS NOT NULL, SUM(s.tokens_in), "
    "SUM(s.tokens_out), COALESCE(SUM(s.cost), 0), COUNT(*) "
    "FROM spans s JOIN runs r ON r.id = s.run_id "
    "WHERE (s.tokens_in > 0) OR (s.tokens_out > 0) "
    "GROUP BY 1, 2, 3, 4, 5, 6, 7"
)


CHAT_BACKFILL = Template(
    "INSERT INTO usage_rollups (project_id, hour, kind, target_id, provider, model, priced, "
    "tokens_in, tokens_out, cost, spans) "
    "SELECT c.project_id, $hour, 'chat', $no_target, COALESCE(m.provider_type, ''), "
    "COALESCE(m.model, ''), m.cost IS NOT NULL, SUM(COALESCE(m.prompt_tokens, 0)), "
    "SUM(COALESCE(m.completion_tokens, 0)), COALESCE(SUM(m.cost), 0), COUNT(*) "
    "FROM messages m JOIN conversations c ON c.id = m.conversation_id "
    "WHERE m.run_id IS NULL AND ((m.prompt_tokens > 0) OR (m.completion_tokens > 0)) "
    "GROUP BY 1, 2, 3, 4, 5, 6, 7"
)


ASSIST_BACKFILL = Template(
    "INSERT INTO usage_rollups (project_id, hour, kind, target_id, provider, model, priced, "
    "tokens_in, tokens_out, cost, spans) "
    "SELECT c.project_id, $hour, 'assist', $no_target, c.provider_type, c.model, "
    "c.cost IS NOT NULL, SUM(c.tokens_in), SUM(c.tokens_out), COALESCE(SUM(c.cost), 0), "
    "COUNT(*) FROM llm_calls c GROUP BY 1, 2, 3, 4, 5, 6, 7"
)


def assist_backfill_sql(dialect: str) -> str:
    """INSERT the totals of the LLM calls recorded in `llm_calls` (kind "assist"; none yet)."""
    hour = HOUR[dialect].replace("s.started_at", "c.created_at")
    return ASSIST_BACKFILL.substitute(hour=hour, no_target=NO_TARGET[dialect])


def chat_backfill_sql(dialect: str) -> str:
    """INSERT the totals of every conversation reply outside a run (kind "chat"; none yet)."""
    hour = HOUR[dialect].replace("s.started_at", "m.created_at")
    return CHAT_BACKFILL.substitute(hour=hour, no_target=NO_TARGET[dialect])


def backfill_sql(dialect: str) -> str:
    """INSERT the totals of every span with usage (into an empty `usage_rollups`); only the
    fixed dialect fragments above are put in."""
    return BACKFILL.substitute(hour=HOUR[dialect], no_target=NO_TARGET[dialect])
