"""The one settings class: every knob of mktflow, read from ``MKTFLOW_*`` environment variables.

Nothing else in mktflow reads the environment; code that needs a setting calls ``get_settings()``
(a quick read needs only the database settings: ``mktflow.config_env.database_settings``, which
reads them without pydantic from the same defaults and rules).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from mktflow.config_env import (
    DEFAULT_DATA_DIR,
    DEFAULT_DB_CONNECT_TIMEOUT_S,
    DEFAULT_DB_STATEMENT_TIMEOUT_S,
    DEFAULT_SQLITE_BUSY_TIMEOUT_S,
    ENV_PREFIX,
    DatabaseSettings,
    mask_url,
    normalise_database_url,
    resolve_database_url,
)

__all__ = ["Settings", "get_settings", "mask_url", "normalise_database_url",
           "prefect_env_api_url"]


class Settings(BaseSettings):
    """mktflow's configuration; each field is the environment variable ``MKTFLOW_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore")

    data_dir: Path = Field(
        default=DEFAULT_DATA_DIR,
        description="Folder for the default SQLite database and local Prefect server data.",
    )
    database_url: str | None = Field(
        default=None,
        description=(
            "Any SQLAlchemy URL; empty means a SQLite file in the data folder. "
            "A bare postgresql://user@host:port/db uses the psycopg driver mktflow installs."
        ),
    )
    api_url: str = Field(
        default="http://127.0.0.1:8787",
        description="Base URL where the mktflow REST API is reachable; used in action links. "
                    "mktflow serve serves the API on its port.",
    )
    api_token: SecretStr | None = Field(
        default=None,
        description=(
            "The SSO proxy's shared bearer token (SSO-proxy mode, MKTFLOW_TRUST_PROXY_HEADER): "
            "every request but /health must carry it or a member token. Without proxy mode "
            "it proves nobody: members use their own tokens (mktflow token create)."
        ),
    )
    trust_proxy_header: bool = Field(
        default=False,
        description=(
            "SSO-proxy mode: trust X-Mktflow-Actor on requests carrying MKTFLOW_API_TOKEN (the "
            "proxy signs people in and sets both). Off: only personal member tokens "
            "(mktflow token create) say who acts. On without MKTFLOW_API_TOKEN, the API refuses "
            "to listen anywhere but 127.0.0.1."
        ),
    )
    prefect_ui_answers: Literal["non-deciding", "none"] = Field(
        default="non-deciding",
        description=(
            "What the Prefect UI's resume form may answer, where anyone can type any e-mail: "
            "'non-deciding' (steps that decide nothing: no four eyes, no authority-matrix "
            "approval, no decision field; those are decided only where mktflow knows who acts) "
            "or 'none'."
        ),
    )
    sign_in_link_ttl_min: float = Field(
        default=15.0, gt=0, le=24 * 60,
        description="How long a one-time sign-in link stays valid, in minutes.",
    )
    sign_in_links_per_address: int = Field(
        default=3, ge=1,
        description="How many one-time sign-in links may be asked for one e-mail address "
                    "within MKTFLOW_SIGN_IN_LIMIT_WINDOW_MIN; more are refused (HTTP 429 with "
                    "Retry-After), whether or not the address is a member's.",
    )
    sign_in_requests_per_client: int = Field(
        default=20, ge=1,
        description="How many sign-in links one client (IP address, as the server sees it) "
                    "may ask for within MKTFLOW_SIGN_IN_LIMIT_WINDOW_MIN, whatever addresses it "
                    "gives; more are refused (HTTP 429 with Retry-After).",
    )
    sign_in_limit_window_min: float = Field(
        default=15.0, gt=0, le=24 * 60,
        description="The window both sign-in rate limits count requests over, in minutes "
                    "(kept in the database, so every process serving it counts the same).",
    )
    sign_in_link_secret: SecretStr | None = Field(
        default=None,
        description="Key one-time sign-in codes are derived from (the outbox keeps no code; "
                    "the relay derives it when it sends the link); empty means a random key "
                    "kept in sign-in-link.key in the data folder (made on first use). The pages "
                    "and every outbox relay must share it.",
    )
    prefect_ui_url: str | None = Field(
        default=None,
        description="Prefect UI base URL (e.g. http://127.0.0.1:4200): the process owners' "
                    "view of runs, where `mktflow run` points; notifications always link to "
                    "mktflow's own page of the item (MKTFLOW_API_URL).",
    )
    web_session_secret: SecretStr | None = Field(
        default=None,
        description="Key signing the pages' session cookies; empty means a random key kept in "
                    "web-session.key in the data folder (made on first use).",
    )
    web_session_hours: float = Field(
        default=12.0, gt=0, le=24 * 30,
        description="How long a sign-in to the pages lasts at most, used or not, in hours.",
    )
    web_session_idle_min: float = Field(
        default=120.0, gt=0, le=24 * 60 * 30,
        description="A sign-in to the pages unused for this long ends, in minutes (it also "
                    "ends after web_session_hours, whatever its use).",
    )
    web_timezone: str | None = Field(
        default=None,
        description="IANA time zone the pages show times in, e.g. Europe/Madrid; empty means "
                    "schedule_tz (the organisation's).",
    )
    api_max_body_bytes: int = Field(
        default=1_000_000, ge=1_000,
        description="The largest request body the REST API reads, in bytes; a larger one is "
                    "answered 413 without being read.",
    )
    sqlite_busy_timeout_s: float = Field(
        default=DEFAULT_SQLITE_BUSY_TIMEOUT_S,
        description="How long a SQLite writer waits for the write lock, in seconds.",
    )
    db_connect_timeout_s: float = Field(
        default=DEFAULT_DB_CONNECT_TIMEOUT_S, ge=1, le=600,
        description=(
            "PostgreSQL: how long opening a connection may take, and how long a pooled "
            "connection's check before use may take, in seconds (libpq's connect_timeout, "
            "which counts whole seconds and at least 2). A stalled database is answered "
            "within about twice this (HTTP 503, exit 1). SQLite opens a file: no wait."
        ),
    )
    db_statement_timeout_s: float = Field(
        default=DEFAULT_DB_STATEMENT_TIMEOUT_S, gt=0, le=24 * 3600,
        description=(
            "How long one statement may run, in seconds, on both databases (PostgreSQL's "
            "statement_timeout; on SQLite, statements are interrupted). On PostgreSQL a server "
            "that does not answer at all is given up db_connect_timeout_s later. Migrations "
            "(mktflow db upgrade) are not limited."
        ),
    )
    db_outcome_check_s: float = Field(
        default=10.0, gt=0, le=600,
        description=(
            "When the connection drops while a change is committed (its answer lost), how "
            "long the command keeps asking the database whether it was recorded, in seconds, "
            "before it says the outcome is unknown (exit 3, HTTP 503 outcome-unknown)."
        ),
    )
    idempotency_key_hours: float = Field(
        default=24.0, gt=0, le=24 * 30,
        description=(
            "How long the REST API keeps the answer to a POST sent with an Idempotency-Key, "
            "in hours: a repeat with the same key within this time gets the first answer; "
            "older keys are removed and may be used again."
        ),
    )

    # --- notifications: the outbox relay (mktflow.notify) ---------------------------------
    relay_max_attempts: int = Field(
        default=8, ge=1, description="Sends of one message before it is dead-lettered."
    )
    relay_backoff_base_s: float = Field(
        default=5.0, gt=0,
        description="Wait before the first retry, in seconds; doubles with every failed attempt.",
    )
    relay_backoff_cap_s: float = Field(
        default=1800.0, gt=0, description="Longest wait between two attempts, in seconds."
    )
    relay_concurrency: int = Field(
        default=10, ge=1, description="Messages one relay sends at the same time (and connections "
                                     "it keeps open)."
    )
    relay_batch_size: int = Field(
        default=100, ge=1, description="Messages one relay claims from the outbox at a time."
    )
    relay_http_timeout_s: float = Field(
        default=10.0, gt=0,
        description="Deadline of one whole webhook / Slack send (connect, write, read), in seconds."
    )
    relay_lease_s: float = Field(
        default=300.0, gt=0,
        description=(
            "How long claimed messages stay reserved for one relay, renewed while it sends; "
            "after that (the relay stopped) another relay may send them again. Must exceed "
            "the longest send (HTTP or SMTP deadline) by more than a tenth."
        ),
    )
    relay_poll_interval_s: float = Field(
        default=2.0, gt=0,
        description=(
            "The longest a continuous relay (the one `mktflow serve` runs, `mktflow outbox "
            "relay`) waits between two looks for due messages, in seconds. It is woken sooner "
            "by a new message (PostgreSQL: NOTIFY on commit; SQLite: MKTFLOW_RELAY_WAKE_POLL_S) "
            "and when a retry comes due."
        ),
    )
    relay_wake_poll_s: float = Field(
        default=0.25, gt=0,
        description=(
            "On SQLite (which cannot notify), how often a continuous relay reads whether a "
            "message is due, in seconds: a new notice waits at most this long before it is "
            "sent. One indexed read each time, no write lock. PostgreSQL wakes the relay on "
            "commit instead (LISTEN/NOTIFY) and uses this only while it cannot listen."
        ),
    )
    relay_db_retry_cap_s: float = Field(
        default=30.0, gt=0,
        description=(
            "While the database is away (refused, stalled, locked), `mktflow outbox relay` "
            "tries it again after 0.5 s, then twice as long each time, with jitter, at most "
            "this many seconds apart; it never stops on such an outage."
        ),
    )
    relay_retry_after_cap_s: float = Field(
        default=3600.0, gt=0,
        description=(
            "Longest wait a receiver's Retry-After (seconds or an HTTP date) may impose on its "
            "destination, in seconds; a longer one is cut to this."
        ),
    )
    relay_destination_backoff_base_s: float = Field(
        default=5.0, gt=0,
        description=(
            "When a destination (a webhook's host, the SMTP server) answers 429/503/421, times "
            "out or cannot be reached without saying how long to wait: the first pause of every "
            "message to it, in seconds; doubles with each failed probe."
        ),
    )
    relay_destination_backoff_cap_s: float = Field(
        default=600.0, gt=0,
        description="Longest pause of a destination that gave no Retry-After, in seconds.",
    )
    smtp_host: str | None = Field(
        default=None, description="SMTP server for e-mail channels; empty means e-mail is off."
    )
    smtp_port: int = Field(default=25, description="SMTP server port (587 for STARTTLS).")
    smtp_from: str = Field(
        default="mktflow@localhost", description="Sender address of notification e-mails."
    )
    smtp_starttls: bool = Field(
        default=False, description="Upgrade the SMTP connection with STARTTLS before sending "
                                   "(the server's certificate is verified)."
    )
    smtp_tls: bool = Field(
        default=False,
        description="Connect to the SMTP server over TLS from the start (SMTPS, usually port "
                    "465; the certificate is verified). Not together with MKTFLOW_SMTP_STARTTLS.",
    )
    smtp_allow_plaintext_auth: bool = Field(
        default=False,
        description="INSECURE: log in to the SMTP server without TLS, sending the user name and "
                    "password readable by anyone on the network path. Without it, a user name "
                    "needs MKTFLOW_SMTP_STARTTLS or MKTFLOW_SMTP_TLS, or the relay refuses to "
                    "start.",
    )
    smtp_username: str | None = Field(
        default=None, description="SMTP login name; empty means no login. A login needs "
                                   "MKTFLOW_SMTP_STARTTLS or MKTFLOW_SMTP_TLS."
    )
    smtp_password_env: str | None = Field(
        default=None,
        description="Name of the environment variable holding the SMTP password (never the "
                    "password itself).",
    )
    smtp_timeout_s: float = Field(
        default=10.0, gt=0,
        description="Deadline of one whole SMTP conversation (connect to QUIT), in seconds."
    )

    # --- escalation of overdue work (mktflow.engine.sla) -----------------------------------
    sla_head_after_h: float = Field(
        default=24.0, ge=0,
        description="Hours past due after which overdue work is escalated to the department "
                    "head (level 2). Level 1, a reminder, is sent at the due time.",
    )
    sla_management_after_h: float = Field(
        default=72.0, ge=0,
        description="Hours past due after which overdue work is escalated to management "
                    "(level 3); must not be less than sla_head_after_h.",
    )

    # --- recurring management cycles and their schedules (prefect/cycles.py, deployments/) ---
    plan_future_share_floor: float = Field(
        default=0.25, ge=0, le=1,
        description="Least share (0-1) of plan items that should be future work (3-5 year "
                    "plan, business plan, strategy, product lines, new products); below it the "
                    "plan balance warns.",
    )
    important_not_urgent_floor: float = Field(
        default=0.2, ge=0, le=1,
        description="Least share (0-1) of a department's classified work items of a period "
                    "that should be important and not urgent (seed 000: future planning, not "
                    "only today's fires); below it the balance of work flags the department "
                    "and the process review reports it.",
    )
    schedule_tz: str = Field(
        default="UTC",
        description="IANA time zone of the calendar cycles' schedules, e.g. Europe/Madrid; "
                    "outbox-relay and sla-sweep always run in UTC.",
    )
    schedule_crons: dict[str, str] = Field(
        default_factory=dict,
        description='Cron per cycle overriding the default, as JSON: {"process-review": '
                    '"0 7 1 * *"}; an empty string turns that schedule off.',
    )
    research_subscribers: list[str] = Field(
        default_factory=lambda: ["sales"],
        description="Departments (besides management) that receive each market-research "
                    'report, as JSON: ["sales", "tech"].',
    )
    research_due_days: int = Field(
        default=10, ge=1,
        description="Working days members have to hand in their market-research findings, "
                    "counted in each member's branch calendar (calendar days where the branch "
                    "keeps none).",
    )
    budget_tolerance_pct: float = Field(
        default=10.0, ge=0,
        description="How far (percent) a budget line may be spent over its plan to date "
                    "before the budget review flags it to its owner.",
    )
    budget_key_project_min: float = Field(
        default=10000.0, ge=0,
        description="Planned amount from which a budget line counts as a key project whose "
                    "resources must be guaranteed (allocated in full); 0 turns the check off.",
    )
    appraisal_frequency: Literal["quarterly", "half-yearly"] = Field(
        default="quarterly", description="How often the performance appraisal runs.",
    )
    channel_weights: dict[str, float] = Field(
        default_factory=lambda: {"sales_vs_target": 0.4, "payment_discipline": 0.3,
                                 "coverage": 0.2, "complaints": 0.1},
        description="Distributor criteria and their weights, as JSON; known criteria: "
                    "sales_vs_target, payment_discipline, coverage, complaints.",
    )
    channel_threshold: float = Field(
        default=60.0, ge=0, le=100,
        description="Distributor score (0-100) below which the channel evaluation hands the "
                    "distributor to the marketing head to adjust or remove.",
    )
    planning_departments: list[str] = Field(
        default_factory=lambda: ["marketing", "sales"],
        description="Departments asked for plan items by the annual planning, as JSON.",
    )

    # --- processes as Prefect flows (mktflow.prefect, flows/) ------------------------------
    prefect_api_url: str | None = Field(
        default=None,
        description="Prefect API the flows run on (e.g. http://prefect.internal:4200/api). Empty "
                    "means Prefect's own PREFECT_API_URL if one is configured, else a local "
                    "Prefect server mktflow starts (or reuses) for the data folder.",
    )
    prefect_port: int | None = Field(
        default=None, ge=1, le=65535,
        description="Port of the local Prefect server mktflow starts on 127.0.0.1; empty means "
                    "a free port chosen at first start and kept for the data folder.",
    )
    prefect_start_timeout_s: float = Field(
        default=120.0, gt=0,
        description="How long to wait for the local Prefect server to answer, in seconds.",
    )
    prefect_resume_settle_s: float = Field(
        default=15.0, gt=0,
        description="How long a resume waits for a flow run that is about to pause (its step "
                    "was answered very fast) or a woken run that is about to end, in seconds.",
    )
    reconcile_interval_s: float = Field(
        default=2.0, gt=0,
        description="How often the reconciler (in `mktflow serve`, or the process-reconciler "
                    "deployment) looks for runs waiting on steps already done or cancelled, and "
                    "for processes whose run has ended, in seconds. A stuck run is put right "
                    "within about twice this plus the resume (docs: the reconciler).",
    )
    runner_poll_s: float = Field(
        default=0.5, gt=0,
        description="How often `mktflow serve`'s runner asks the Prefect API for runs to start, "
                    "in seconds. A run started or resumed (its step answered) is started as "
                    "soon as Prefect's event stream says so, and within this when the stream "
                    "is lost. One small query per poll for all the served deployments: longer "
                    "polls save a little CPU while nothing happens (docs: the local Prefect "
                    "server, What an idle serve costs). Prefect's own default is 10.",
    )
    step_poll_interval_s: float = Field(
        default=1.0, gt=0,
        description="How often a paused flow run checks whether its human step was answered, in "
                    "seconds (the delay between a completion and the flow going on).",
    )
    step_timeout_days: float = Field(
        default=180.0, gt=0,
        description="How long a flow run waits for one human step before it fails, in days. "
                    "Overdue steps are escalated long before (sla_* settings).",
    )
    authority_matrix_file: Path | None = Field(
        default=None,
        description="YAML authority matrix (who approves what, by process, amount and "
                    "branch); empty means the one shipped in mktflow/demo/authority-matrix.yaml.",
    )
    credit_auto_approve_limit: float = Field(
        default=10000.0, ge=0,
        description="Orders below this total from customers in good standing get credit "
                    "automatically; others go to a person named by the authority matrix.",
    )
    overspend_tolerance_pct: float = Field(
        default=10.0, ge=0,
        description="How far (in percent) a campaign's spend may exceed its budget before the "
                    "campaign needs re-approval.",
    )

    def resolved_database_url(self) -> str:
        """The SQLAlchemy URL to connect to, with mktflow's driver filled in for bare URLs."""
        return resolve_database_url(self.database_url, self.data_dir)

    def database(self) -> DatabaseSettings:
        """What the database engine is built from: the resolved URL and its timeouts."""
        return DatabaseSettings(self.resolved_database_url(), self.sqlite_busy_timeout_s,
                                self.db_connect_timeout_s, self.db_statement_timeout_s)


def prefect_env_api_url() -> str | None:
    """Prefect's own ``PREFECT_API_URL`` from the environment, read without importing Prefect
    (a profile's value is only known to Prefect itself)."""
    import os  # the one reader of the environment besides Settings

    return os.environ.get("PREFECT_API_URL") or None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment. ConfigError naming each
    variable that does not fit and why (``MKTFLOW_SQLITE_BUSY_TIMEOUT_S: must be a number,
    got 'abc'``), never a traceback."""
    from pydantic import ValidationError

    from mktflow.domain.errors import ConfigError
    from mktflow.domain.inputs import plain_error

    try:
        return Settings()
    except ValidationError as exc:
        problems = [f"{ENV_PREFIX}{'_'.join(str(p) for p in e['loc']).upper()}: "
                    f"{plain_error(e)}" for e in exc.errors()]
        raise ConfigError("; ".join(problems)) from None
