"""The one typed settings object, built once from the environment (and an optional .env).

Nothing else in the code base reads ``os.environ``: factories receive a ``Settings``.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from pydantic_settings import SettingsError as _SourceError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError


class SettingsError(Exception):
    """A configuration value is wrong; ``str()`` is one line naming the variable."""


def _check_db_url(value: str | None) -> str | None:
    if value is None or value == "":
        return None
    try:
        url = make_url(value)
    except ArgumentError as exc:
        raise ValueError(f"not a database URL ({exc})") from None
    backend = url.get_backend_name()
    if backend not in ("postgresql", "sqlite"):
        raise ValueError(f"unsupported database '{backend}' (use postgresql:// or sqlite:///)")
    return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    # --- databases -------------------------------------------------------------------
    database_url: str | None = Field(
        None,
        description="Metrics store URL (postgresql://… with psycopg 3). "
        "Unset: embedded SQLite file `<DATA_DIR>/metrics.db`.",
    )
    source_database_url: str | None = Field(
        None,
        description="The LLM web app's database, read read-only. Unset: same as the store.",
    )
    source_queries_file: Path | None = Field(
        None,
        description="TOML file replacing default source queries, one key per metric id "
        '(e.g. `tag_count = "SELECT count(*) FROM labels"`).',
    )
    source_statement_timeout_ms: int = Field(
        5000, ge=100, le=600_000, description="Statement timeout for source queries (ms)."
    )
    data_dir: Path = Field(
        Path("var"),
        description="Folder for the embedded SQLite store, the demo source and lock files.",
    )

    # --- collection ------------------------------------------------------------------
    metrics_collection_enabled: bool = Field(
        True, description="Run the embedded scheduler (hourly, daily, retention jobs)."
    )
    metrics_hourly_retention_days: int = Field(
        30, ge=1, le=3650, description="Days of hourly snapshots kept."
    )
    metrics_daily_retention_days: int = Field(
        90, ge=1, le=36500, description="Days of daily snapshots kept."
    )
    metrics_test_slot_seconds: int | None = Field(
        None,
        ge=2,
        le=3600,
        description="Testing only: collect a slot every N seconds instead of hourly "
        "(slots on N-second boundaries). Never set in production.",
    )

    # --- exports ---------------------------------------------------------------------
    export_max_bytes: int = Field(
        10 * 1024 * 1024,
        ge=1024,
        description="Largest export file; larger ones are reduced with LTTB until they fit.",
    )
    export_ttl_seconds: int = Field(
        3600, ge=60, le=7 * 86400, description="How long an export can be downloaded."
    )
    chromium_path: Path = Field(
        Path("/usr/lib/chromium/chromium"),
        description="Chromium binary Kaleido uses to render PDF charts.",
    )

    # --- web, access -----------------------------------------------------------------
    secret_key: SecretStr | None = Field(
        None,
        description="Signs session cookies and CSRF tokens. Required outside the demo "
        "(at least 16 characters).",
    )
    url_prefix: str = Field(
        "/", description="Path the whole app is mounted under, e.g. `/portal/metrics/`."
    )
    session_cookie_secure: bool = Field(
        False, description="Send the session cookie only over HTTPS."
    )
    session_cookie_samesite: Literal["Lax", "Strict", "None"] = Field(
        "Lax",
        description="SameSite of the session cookie; `None` (with "
        "SESSION_COOKIE_SECURE=true) for a cross-site iframe.",
    )
    frame_ancestors: str = Field(
        "'self'",
        description="CSP `frame-ancestors` sources allowed to embed the dashboard.",
    )
    auth_proxy_header: str | None = Field(
        None,
        description="Header carrying the signed-on user from a trusted reverse proxy "
        "(e.g. `X-Forwarded-User`). Unset: proxy sign-on off.",
    )
    auth_proxy_trusted: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated addresses/CIDRs allowed to send AUTH_PROXY_HEADER.",
    )
    auth_proxy_auto_create: bool = Field(
        False, description="Create an admin account for an unknown proxy-signed-on user."
    )
    login_rate_limit: str = Field(
        "5 per minute", description="Login attempts allowed per address and user name."
    )

    # --- gunicorn (admin-metrics serve, container entrypoint) -------------------------
    web_bind: str = Field(
        "127.0.0.1:8050",
        description="Address gunicorn listens on (`0.0.0.0:8050` in the container).",
    )
    web_workers: int = Field(2, ge=1, le=64, description="gunicorn worker processes.")
    web_threads: int = Field(4, ge=1, le=64, description="Threads per gunicorn worker.")
    web_timeout: int = Field(
        120, ge=10, le=3600, description="Seconds before a silent worker is restarted."
    )
    web_graceful_timeout: int = Field(
        30, ge=1, le=600, description="Seconds in-flight requests get to finish on SIGTERM."
    )

    # --- presentation, logging -------------------------------------------------------
    default_language: Literal["ko", "en"] = Field(
        "ko", description="UI language when the browser does not choose one."
    )
    default_timezone: str = Field(
        "Asia/Seoul",
        description="Time zone used when the viewer's is unknown: the page without a "
        "browser zone, API exports without `timezone`, CLI exports without `--timezone`.",
    )
    business_timezone: str | None = Field(
        None,
        description="The organisation's time zone: a daily value is the day 00:00–24:00 "
        "there (daily rollups, daily periods). Unset: DEFAULT_TIMEZONE.",
    )
    week_start: Literal[
        "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"
    ] = Field("monday", description="First day of the week for the 'this week' period.")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", description="Log level."
    )
    log_format: Literal["text", "json"] = Field("text", description="Log line format.")

    @field_validator("database_url", "source_database_url")
    @classmethod
    def _valid_db_url(cls, value: str | None) -> str | None:
        return _check_db_url(value)

    @field_validator("source_queries_file", "auth_proxy_header", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        # docker-compose passes unset optional variables as empty strings.
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("auth_proxy_trusted", mode="before")
    @classmethod
    def _split_cidrs(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("auth_proxy_trusted")
    @classmethod
    def _valid_cidrs(cls, value: list[str]) -> list[str]:
        for cidr in value:
            try:
                ipaddress.ip_network(cidr, strict=False)
            except ValueError:
                raise ValueError(f"'{cidr}' is not an IP address or CIDR") from None
        return value

    @field_validator("url_prefix")
    @classmethod
    def _normalise_prefix(cls, value: str) -> str:
        value = "/" + value.strip().strip("/")
        if any(c in value for c in " ?#\\\"'<>"):
            raise ValueError("must be a plain URL path such as /portal/metrics/")
        return value.rstrip("/") + "/"

    @field_validator("default_timezone", "business_timezone")
    @classmethod
    def _valid_tz(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("unknown time zone") from None
        return value

    @field_validator("secret_key")
    @classmethod
    def _strong_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 16:
            raise ValueError("must be at least 16 characters")
        return value

    @field_validator("business_timezone", mode="before")
    @classmethod
    def _blank_zone_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @model_validator(mode="after")
    def _daily_outlives_hourly(self) -> Settings:
        # Daily rows are rolled up from hourly ones: a shorter daily retention would delete
        # days whose hourly data still exist, and the daily view would show less than hourly.
        if self.metrics_daily_retention_days < self.metrics_hourly_retention_days:
            raise ValueError(
                f"METRICS_DAILY_RETENTION_DAYS={self.metrics_daily_retention_days} is shorter "
                f"than METRICS_HOURLY_RETENTION_DAYS={self.metrics_hourly_retention_days}"
            )
        return self

    @model_validator(mode="after")
    def _samesite_none_needs_secure(self) -> Settings:
        if self.session_cookie_samesite == "None" and not self.session_cookie_secure:
            raise ValueError("SESSION_COOKIE_SAMESITE=None requires SESSION_COOKIE_SECURE=true")
        return self

    # --- derived ---------------------------------------------------------------------
    @property
    def business_zone(self) -> str:
        """The zone of the organisation's days (BUSINESS_TIMEZONE, else DEFAULT_TIMEZONE)."""
        return self.business_timezone or self.default_timezone

    @property
    def store_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'metrics.db').resolve()}"

    @property
    def source_url(self) -> str:
        return self.source_database_url or self.store_url

    @property
    def store_is_sqlite(self) -> bool:
        return make_url(self.store_url).get_backend_name() == "sqlite"


def _one_line(exc: ValidationError) -> str:
    err = exc.errors()[0]
    name = "_".join(str(p) for p in err["loc"]).upper()
    msg = err["msg"].removeprefix("Value error, ")
    if not name:  # a rule across settings: the message names them and their values
        return f"Invalid settings: {msg}"
    value = err.get("input")
    shown = ""
    # The bad value once: messages never repeat it, this suffix says it (never secrets).
    if isinstance(value, str | int | float) and "SECRET" not in name and "URL" not in name:
        shown = f" (got {value!r})"
    return f"Invalid setting {name}: {msg}{shown}"


def load_settings(**overrides: object) -> Settings:
    """Build settings from the environment; raise ``SettingsError`` with one clear line."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise SettingsError(_one_line(exc)) from None
    except _SourceError as exc:  # e.g. a value pydantic-settings could not decode
        raise SettingsError(f"Invalid setting: {exc}") from None
