"""Every setting comes from an `ORBITER_*` environment variable (see `.env.example`)."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import make_url

DEFAULT_SECRET = "change-me"  # noqa: S105 - the placeholder we refuse in production

CsvList = Annotated[list[str], NoDecode]


# The sandbox limits a plan may set (each is also a `sandbox_<name>` setting: the free plan's).
SANDBOX_PLAN_LIMIT_NAMES = (
    "cpu_seconds",
    "memory_bytes",
    "processes",
    "file_bytes",
    "disk_bytes",
    "command_seconds",
    "ttl_seconds",
)
SANDBOX_PLAN_LIMITS: dict[str, dict[str, float]] = {
    "pro": {
        "cpu_seconds": 300,
        "memory_bytes": 4 * 1024**3,
        "processes": 256,
        "file_bytes": 1024**3,
        "disk_bytes": 5 * 1024**3,
        "command_seconds": 300,
        "ttl_seconds": 3600,
    },
    "team": {
        "cpu_seconds": 600,
        "memory_bytes": 8 * 1024**3,
        "processes": 512,
        "file_bytes": 2 * 1024**3,
        "disk_bytes": 20 * 1024**3,
        "command_seconds": 600,
        "ttl_seconds": 4 * 3600,
    },
}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ORBITER_", env_file=".env", extra="ignore")

    environment: Literal["development", "production", "test"] = "development"
    data_dir: Path = Path(".data")
    public_url: str = ""  # e.g. https://orbiter.example.com; default: the request's base URL
    log_level: str = "INFO"
    log_format: Literal["json", "text"] | None = None  # default: text in development, else json
    metrics_enabled: bool = False  # serve GET /metrics (Prometheus text format)
    metrics_token: str = ""  # when set, /metrics needs `Authorization: Bearer <token>`

    database_url: str = ""  # default: SQLite file in data_dir
    database_pool_size: int = 20
    redis_url: str = ""  # empty: in-process sessions, limits and caches
    # Per pool (sessions, rate limits): concurrent requests beyond it wait for a connection.
    redis_max_connections: int = Field(default=50, ge=1)

    blob_store: Literal["local", "s3"] | None = None  # default: s3 when a bucket is set
    s3_endpoint_url: str = ""
    s3_bucket: str = ""
    s3_access_key_id: str = ""
    s3_secret_access_key: str = ""
    s3_region: str = "us-east-1"
    max_blob_bytes: int = 5 * 1024**3  # one upload; larger bodies are 413 before being read
    max_manifest_bytes: int = 64 * 1024**2
    max_doc_bytes: int = 1024**2  # GET /projects/{id}/docs/content
    manifest_cache_bytes: int = 128 * 1024**2  # parsed manifests kept in memory (estimated)
    gc_grace_seconds: int = 3600  # blobs younger than this are never collected
    max_json_bytes: int = 1024**2  # any other request body; core/body_limits.py names the larger
    body_receive_timeout_seconds: float = 30.0  # a body that sends nothing this long is cut off
    invitation_days: int = 14  # a project invitation not accepted by then lapses

    secret_key: str = DEFAULT_SECRET
    encryption_keys: CsvList = Field(default_factory=list)  # "kid:base64key,..." newest first

    cookie_secure: bool = False
    cors_origins: CsvList = Field(default_factory=list)
    trusted_proxies: CsvList = Field(default_factory=list)
    allow_private_urls: bool = False

    session_idle_seconds: int = 3 * 24 * 3600
    session_absolute_seconds: int = 30 * 24 * 3600
    bearer_token_days: int = 30
    device_code_seconds: int = 900
    device_poll_interval: int = 5

    google_client_id: str = ""
    google_jwks_url: str = "https://www.googleapis.com/oauth2/v3/certs"

    rate_limits_enabled: bool = True
    llm_timeout_seconds: float = 120.0
    llm_connect_timeout_seconds: float = 10.0
    llm_max_retries: int = 2  # on 429 and 5xx, with exponential backoff
    llm_max_response_chars: int = 1_000_000  # a reply longer than this is cut and flagged

    rate_limit_free: int = 60
    rate_limit_pro: int = 300
    rate_limit_team: int = 1000
    rate_limit_llm_free: int = 10
    rate_limit_llm_pro: int = 60
    rate_limit_llm_team: int = 200
    rate_limit_auth_per_ip: int = 30
    rate_limit_failed_logins: int = 10
    rate_limit_failed_login_window_seconds: int = 900
    rate_limit_user_code_guesses: int = 10
    rate_limit_webhook_per_minute: int = Field(default=60, ge=1)  # per workflow, any caller
    # When Redis is down: "open" lets ordinary requests through, "closed" answers 503.
    rate_limit_general_on_outage: Literal["open", "closed"] = "open"

    # Runs (README: Runs and agents). Caps per run; an agent may lower max_steps.
    run_max_steps: int = Field(default=20, ge=1)
    run_max_tokens: int = Field(default=200_000, ge=1)
    run_max_seconds: float = Field(default=600.0, gt=0)
    run_heartbeat_seconds: float = Field(default=5.0, gt=0)  # a running run's liveness write
    # A running run whose heartbeat is older than this lost its worker: the reaper fails it.
    run_stale_seconds: float = Field(default=30.0, gt=0)
    run_max_field_bytes: int = Field(default=64 * 1024, ge=256)  # span/run input and output
    # How long `?wait=true` (deployment invoke, CI workflow run) holds the request open.
    run_wait_seconds: float = Field(default=30.0, gt=0, le=600)
    # The job queue: redelivery of a job a dead worker left unacknowledged (taskiq-redis
    # XAUTOCLAIM idle time), jobs one worker process runs at once, and the periodic tick.
    queue_redeliver_seconds: float = Field(default=60.0, gt=0)
    worker_concurrency: int = Field(default=100, ge=1)
    worker_shutdown_seconds: float = Field(default=10.0, ge=0)
    # How often the maintenance job runs (credentials purged, orphaned replies stopped).
    maintenance_seconds: float = Field(default=60.0, gt=0)
    # Workflow triggers (README: Workflows, Triggers): how long a webhook call waits for the
    # run's api_response before answering 202, the largest body it takes, and how often the
    # scheduler looks for schedules that are due.
    webhook_wait_seconds: float = Field(default=10.0, ge=0, le=300)
    webhook_max_bytes: int = Field(default=256 * 1024, ge=2)
    schedule_tick_seconds: float = Field(default=30.0, gt=0)
    # Sandboxes (README: Sandboxes): bubblewrap on this host; the limits of each command.
    sandbox_bwrap_path: str = "bwrap"
    sandbox_dir: Path | None = None  # default: <data_dir>/sandboxes (reachable by sandbox_uid)
    sandbox_host: str = ""  # this host's name for its sandboxes (default: the hostname)
    sandbox_network: bool = False  # share the host's network (and allow dependency installs)
    sandbox_uid: int = Field(default=65534, ge=1)  # host user sandboxes run as, when root
    sandbox_ro_binds: CsvList = Field(default_factory=list)  # more read-only host paths
    sandbox_python: str = "/usr/bin/python3"
    sandbox_node: str = "/usr/bin/node"
    sandbox_bash: str = "/bin/bash"
    sandbox_ttl_seconds: float = Field(default=900.0, gt=0)  # then the reaper deletes it
    sandbox_reap_seconds: float = Field(default=30.0, gt=0)
    sandbox_max_per_user: int = Field(default=10, ge=1)
    sandbox_command_seconds: float = Field(default=60.0, gt=0)  # wall clock per command
    sandbox_cpu_seconds: int = Field(default=60, ge=1)
    sandbox_memory_bytes: int = Field(default=1024**3, ge=64 * 1024**2)  # address space
    sandbox_processes: int = Field(default=64, ge=1)
    sandbox_file_bytes: int = Field(default=100 * 1024**2, ge=1024)
    sandbox_disk_bytes: int = Field(default=500 * 1024**2, ge=1024)  # the work dir
    sandbox_tmp_bytes: int = Field(default=64 * 1024**2, ge=1024)  # /tmp and /dev/shm each
    sandbox_output_bytes: int = Field(default=1024**2, ge=1024)  # stdout, stderr each
    # Tasks (README: Tasks): the longest one git command (clone, push) of a task may take.
    task_git_seconds: float = Field(default=300.0, gt=0)
    # Files (README: Files): the largest file /files writes or reads back as content, and the
    # largest body of a write (a batch's contents together, as JSON); both answer 413 beyond.
    files_max_file_bytes: int = Field(default=8 * 1024**2, ge=1)
    files_max_request_bytes: int = Field(default=32 * 1024**2, ge=1024)
    # Project atlas (README: Project knowledge): source files larger than this are skipped, and
    # at most this many source files (and bytes) of a snapshot are parsed; the index result
    # lists the rest.
    atlas_max_file_bytes: int = Field(default=512 * 1024, ge=1)
    atlas_max_files: int = Field(default=5000, ge=1)
    atlas_max_total_bytes: int = Field(default=64 * 1024**2, ge=1)  # read in one index
    # Alerts (README: Alerts): how often enabled rules are evaluated, and their deliveries
    # (webhook and email): the timeout of one attempt, the attempts at most, and the backoff
    # before the next one (doubled after each failure).
    alert_evaluate_seconds: float = Field(default=60.0, gt=0)
    alert_delivery_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    alert_delivery_max_attempts: int = Field(default=5, ge=1, le=20)
    alert_delivery_backoff_seconds: float = Field(default=10.0, ge=0)
    # SMTP for `email` alert actions; without a host, email actions are refused at save.
    smtp_host: str = ""
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_from: str = "orbiter@localhost"
    smtp_starttls: bool = True  # STARTTLS after connecting (port 587); false: plain SMTP
    # Waveforms (README: Waveforms): the largest upload per plan (API.md: free 25 MB, pro
    # 200 MB, team 500 MB), and how many parsed files each process keeps open for queries.
    waveform_max_bytes_free: int = Field(default=25 * 1024**2, ge=1)
    waveform_max_bytes_pro: int = Field(default=200 * 1024**2, ge=1)
    waveform_max_bytes_team: int = Field(default=500 * 1024**2, ge=1)
    waveform_cache_files: int = Field(default=4, ge=0)
    # Knowledge bases (README: Knowledge): the largest document upload (413 above it, before
    # it is read whole), texts per `/embeddings` request while indexing, and how long a
    # document may stay `processing` before the recovery tick takes it back (its worker died).
    max_document_bytes: int = Field(default=50 * 1024**2, ge=1)
    embedding_batch_size: int = Field(default=64, ge=1, le=2048)
    document_stale_seconds: float = Field(default=600.0, gt=0)
    # Deploy pipeline (README: Deploy): how long `POST /infrastructure/projects/{id}/deploy`
    # waits for live or failed, the build's wall clock, how long a started app has to answer
    # its health check, how long a deployed app may run, and how often each process checks
    # that the apps it runs are still meant to (stopped elsewhere: it stops them).
    deploy_wait_seconds: float = Field(default=60.0, ge=0, le=600)
    deploy_build_seconds: float = Field(default=300.0, gt=0)
    deploy_health_seconds: float = Field(default=30.0, gt=0)
    deploy_max_seconds: float = Field(default=7 * 86400.0, gt=0)
    deploy_cpu_seconds: int = Field(default=3600, ge=1)  # a deployed app's CPU time, in all
    deploy_watch_seconds: float = Field(default=1.0, gt=0)
    # Infrastructure and GitHub (README: Infrastructure and GitHub): the GitHub API (set it for
    # GitHub Enterprise, e.g. https://github.example.com/api/v3) and the server's token, used
    # when a user has no `github` credential; the GitHub proxy's rate-limit group (API.md
    # §1.4); and how many databases the configured Redis has (the `local` provider hands out
    # databases 1..N-1 to projects, never the app's own).
    github_api_url: str = "https://api.github.com"
    github_token: str = ""
    rate_limit_github: int = Field(default=30, ge=1)
    local_redis_databases: int = Field(default=16, ge=1, le=1024)
    # Sandboxes per plan (README: Sandboxes, Limits per plan): the `sandbox_*` limits above are
    # the free plan's; a plan listed here replaces the ones it names (JSON, e.g.
    # `{"pro": {"cpu_seconds": 300}}`; names in SANDBOX_PLAN_LIMIT_NAMES). And how long a web
    # template's server has to start listening on its port.
    sandbox_plan_limits: dict[str, dict[str, float]] = Field(
        default_factory=lambda: {plan: dict(v) for plan, v in SANDBOX_PLAN_LIMITS.items()}
    )
    sandbox_web_start_seconds: float = Field(default=15.0, gt=0)
    # The most a web request or answer relayed to another replica's sandbox may carry.
    sandbox_web_relay_max_bytes: int = Field(default=16 * 1024 * 1024, gt=0)
    # Memory each process may keep for knowledge vectors (knowledge/vector_cache.py); 0: none.
    knowledge_vector_cache_mb: int = Field(default=512, ge=0)
    # Vector search inside PostgreSQL with pgvector when migration 0033 installed it
    # (knowledge/pgvector.py); off: the numpy scan over the per-process cache everywhere.
    knowledge_pgvector: bool = True

    @field_validator(
        "encryption_keys", "cors_origins", "trusted_proxies", "sandbox_ro_binds", mode="before"
    )
    @classmethod
    def _split_csv(cls, value: object) -> object:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("sandbox_plan_limits")
    @classmethod
    def _known_plan_limits(cls, value: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
        for plan, limits in value.items():
            unknown = set(limits) - set(SANDBOX_PLAN_LIMIT_NAMES)
            if unknown or any(v <= 0 for v in limits.values()):
                raise ValueError(
                    f"sandbox_plan_limits[{plan!r}]: positive values for "
                    f"{', '.join(SANDBOX_PLAN_LIMIT_NAMES)} (not {sorted(unknown)})"
                )
        return value

    @field_validator("sandbox_dir", mode="before")
    @classmethod
    def _blank_is_default(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @model_validator(mode="after")
    def _refuse_default_secret_in_production(self) -> Settings:
        if self.environment == "production" and (
            self.secret_key == DEFAULT_SECRET or len(self.secret_key) < 32
        ):
            raise ValueError(
                "ORBITER_SECRET_KEY must be set to a random value of at least 32 characters "
                "in production (python -c 'import secrets; print(secrets.token_urlsafe(48))')"
            )
        if self.environment == "production" and not self.encryption_keys:
            raise ValueError("ORBITER_ENCRYPTION_KEYS must be set in production")
        return self

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite+aiosqlite:///{self.data_dir / 'orbiter.db'}"

    @property
    def is_sqlite(self) -> bool:
        return self.effective_database_url.startswith("sqlite")

    @property
    def effective_blob_store(self) -> Literal["local", "s3"]:
        return self.blob_store or ("s3" if self.s3_bucket else "local")

    @property
    def effective_log_format(self) -> Literal["json", "text"]:
        return self.log_format or ("text" if self.environment == "development" else "json")

    def resolved_secret_key(self) -> tuple[str, bool]:
        """The configured secret, or one generated once and kept in data_dir; and whether it
        was generated just now."""
        if self.secret_key != DEFAULT_SECRET:
            return self.secret_key, False
        return read_or_create(self.data_dir / "secret_key", lambda: secrets.token_urlsafe(48))


def mask_password(url: str) -> str:
    """`url` with its password replaced by ***, fit for logs and messages."""
    return make_url(url).render_as_string(hide_password=True)


def read_or_create(path: Path, make: Callable[[], str]) -> tuple[str, bool]:
    """The text kept in `path`, or `make()` written there (mode 0600); and whether it was made."""
    if path.exists():
        return path.read_text().strip(), False
    path.parent.mkdir(parents=True, exist_ok=True)
    value = make()
    path.write_text(value)
    path.chmod(0o600)
    return value, True


@lru_cache
def get_settings() -> Settings:
    return Settings()
