"""The one typed settings object, built once from the environment (and an optional .env).

Nothing else in the code base reads ``os.environ``: factories receive a ``Settings``.
"""

from __future__ import annotations

import ipaddress
import os
from email.utils import parseaddr
from pathlib import Path
from typing import Annotated, Final, Literal

import limits
from dotenv import dotenv_values
from pydantic import (
    AnyHttpUrl,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from pydantic_settings import SettingsError as _SourceError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from admin_metrics.zones import zone_name

# What ``admin-metrics demo`` leaves in DATA_DIR: its simulated source and that source's queries.
DEMO_SOURCE_FILE: Final = "demo_source.db"
DEMO_QUERIES_FILE: Final = "demo_source_queries.toml"
DEMO_CATALOGUE_FILE: Final = "demo_catalogue.toml"


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


def parse_rate(value: str) -> tuple[int, int]:
    """``"5 per minute"`` / ``"10 per 15 minutes"`` / ``"5/minute"`` → (5, 60) / (10, 900)."""
    try:
        item = limits.parse(value)
    except ValueError:
        raise ValueError("not a rate such as '5 per minute' or '10 per 15 minutes'") from None
    if item.amount < 1:
        raise ValueError("must allow at least one attempt")
    return int(item.amount), int(item.get_expiry())


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
        description="The LLM web app's database, read read-only. Unset: same as the store "
        "(in a folder where `admin-metrics demo` ran: the demo's simulated source).",
    )
    source_queries_file: Path | None = Field(
        None,
        description="TOML file replacing default source queries, one key per metric id "
        '(e.g. `tag_count = "SELECT count(*) FROM labels"`).',
    )
    metrics_catalogue_file: Path | None = Field(
        None,
        description="TOML file of the metric catalogue: extra metrics (gauges or per-slot "
        "counts, optionally labelled) and overrides of the six built-in ones "
        "(see 'Metric catalogue').",
    )
    metrics_max_labels: int = Field(
        50,
        ge=1,
        le=1000,
        description="Most labels a labelled catalogue metric may return in one slot; a query "
        "returning more records a failure for that metric and stores none of it.",
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
    metrics_collection_deadline_seconds: float = Field(
        30.0,
        ge=5,
        le=1800,
        description="Wall-clock limit of one slot's collection, its 3 attempts and back-off "
        "waits included; a source that stops answering is cancelled when it passes and the "
        "slot is recorded as failed.",
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
    chart_renderer_warm: bool = Field(
        True,
        description="Start each worker's PDF chart renderer (headless Chromium, about "
        "580 MiB) in the background at start, so the first PDF is as fast as later ones; "
        "it still closes after 5 idle minutes. false: start it on the first PDF.",
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
        description="Comma-separated addresses/CIDRs of the reverse proxy: allowed to send "
        "AUTH_PROXY_HEADER, and the only peers whose X-Forwarded-For is believed.",
    )
    prometheus_enabled: bool = Field(
        False,
        description="Serve `GET /metrics` (Prometheus text format): collection health and "
        "the latest value of every series. Needs PROMETHEUS_TOKEN or PROMETHEUS_ALLOW.",
    )
    prometheus_token: SecretStr | None = Field(
        None,
        description="Bearer token a scraper sends to `/metrics` (`Authorization: Bearer …`); "
        "at least 16 characters.",
    )
    prometheus_allow: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated addresses/CIDRs that may read `/metrics` without the "
        "token (the peer address, after AUTH_PROXY_TRUSTED proxies).",
    )
    auth_proxy_auto_create: bool = Field(
        False, description="Create an admin account for an unknown proxy-signed-on user."
    )
    proxy_fix_hops: int = Field(
        1,
        ge=0,
        le=10,
        description="Proxies in front of the app whose `X-Forwarded-For`/`-Proto` are "
        "believed, and only when the TCP peer is in AUTH_PROXY_TRUSTED (0: never).",
    )
    session_idle_minutes: int = Field(
        120,
        ge=1,
        le=30 * 24 * 60,
        description="A sign-in session ends after this many minutes without a request.",
    )
    session_max_hours: int = Field(
        12,
        ge=1,
        le=90 * 24,
        description="A sign-in session ends this many hours after sign-in, active or not.",
    )
    login_rate_limit: str = Field(
        "5 per minute",
        description="Failed sign-ins allowed per address and user name (or per browser "
        "that signed in before), e.g. `5 per minute`, `10 per 15 minutes`.",
    )
    login_address_rate_limit: str = Field(
        "30 per 5 minutes",
        description="Failed sign-ins allowed per address over all user names (browsers "
        "that signed in before are not counted).",
    )
    audit_retention_days: int = Field(365, ge=1, le=36500, description="Days of audit log kept.")

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

    # --- alerts and scheduled reports (mail relay, webhooks) --------------------------
    smtp_host: str | None = Field(
        None,
        description="The intranet mail relay that sends alert and report mails. "
        "Unset: no mail (webhooks still work).",
    )
    smtp_port: int | None = Field(
        None,
        ge=1,
        le=65535,
        description="Port of the mail relay. Unset: 25 (`none`), 587 (`starttls`) or 465 (`ssl`).",
    )
    smtp_security: Literal["none", "starttls", "ssl"] = Field(
        "starttls",
        description="`starttls` (upgrade a plain connection, refused if the relay cannot), "
        "`ssl` (TLS from the first byte) or `none` (plain, for a relay on a trusted segment).",
    )
    smtp_username: str | None = Field(
        None, description="Login at the relay (with SMTP_PASSWORD). Unset: no login."
    )
    smtp_password: SecretStr | None = Field(
        None, description="Password for SMTP_USERNAME (never logged or shown)."
    )
    smtp_from: str | None = Field(
        None,
        description="Sender address of alert and report mails, e.g. "
        "`Admin Metrics <metrics@intranet.example>`. Required with SMTP_HOST.",
    )
    smtp_ca_file: Path | None = Field(
        None,
        description="PEM file of the CA that signed the relay's certificate (an internal CA). "
        "Unset: the system's CAs.",
    )
    public_url: AnyHttpUrl | None = Field(
        None,
        description="The app's address as admins open it (with URL_PREFIX), e.g. "
        "`https://intranet.example/metrics/`: the only link mails carry. Unset: no link.",
    )
    storage_capacity_bytes: int | None = Field(
        None,
        ge=1,
        description="Capacity of the LLM app's document storage, for the storage forecast "
        "(days until it is full, on the page and over the API) and the storage-forecast alert "
        "rule. Unset: the forecast shows the expected value instead, and that rule cannot be used.",
    )
    alert_delivery_timeout_seconds: float = Field(
        10.0,
        gt=0,
        le=120,
        description="Time limit of one mail or webhook delivery attempt (a webhook channel "
        "may set its own).",
    )
    alert_delivery_attempts: int = Field(
        6,
        ge=1,
        le=20,
        description="Attempts per alert or report delivery before it is recorded as failed "
        "(waits 30 s, 2 min, 8 min, 32 min, then hourly).",
    )

    # --- forecast and unusual values ---------------------------------------------------
    forecast_horizon_days: int = Field(
        30,
        ge=1,
        le=365,
        description="How many days ahead the trend is drawn by default (page, PDF, and the "
        "API's `horizon_days`).",
    )
    unusual_values_enabled: bool = Field(
        True, description="Mark unusual values on the graphs (false: no marks)."
    )
    unusual_values_threshold: float = Field(
        4.0,
        gt=0,
        le=100,
        description="Robust z-score above which a value is marked unusual (its distance from "
        "the median of the same hour of the week over 4 weeks, in robust standard deviations).",
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

    @field_validator(
        "source_queries_file",
        "metrics_catalogue_file",
        "auth_proxy_header",
        "smtp_host",
        "smtp_port",
        "smtp_username",
        "smtp_password",
        "smtp_from",
        "smtp_ca_file",
        "public_url",
        "storage_capacity_bytes",
        "prometheus_token",
        mode="before",
    )
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        # docker-compose passes unset optional variables as empty strings.
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("auth_proxy_trusted", "prometheus_allow", mode="before")
    @classmethod
    def _split_cidrs(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("auth_proxy_trusted", "prometheus_allow")
    @classmethod
    def _valid_cidrs(cls, value: list[str]) -> list[str]:
        for cidr in value:
            try:
                ipaddress.ip_network(cidr, strict=False)
            except ValueError:
                raise ValueError(f"'{cidr}' is not an IP address or CIDR") from None
        return value

    @field_validator("login_rate_limit", "login_address_rate_limit")
    @classmethod
    def _valid_rate(cls, value: str) -> str:
        parse_rate(value)
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
        if zone_name(value) is None:
            raise ValueError("unknown time zone")
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

    @field_validator("smtp_from")
    @classmethod
    def _valid_sender(cls, value: str | None) -> str | None:
        if value is None:
            return None
        _name, address = parseaddr(value)
        if "@" not in address or " " in address:
            raise ValueError("must be a mail address such as metrics@intranet.example")
        return value

    @field_validator("smtp_ca_file")
    @classmethod
    def _ca_file_exists(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"no such file: {value}")
        return value

    @field_validator("public_url")
    @classmethod
    def _public_url_is_a_base(cls, value: AnyHttpUrl | None) -> AnyHttpUrl | None:
        if value is not None and (value.query or value.fragment):
            raise ValueError("must be the app's base address, without ?query or #fragment")
        return value

    @model_validator(mode="after")
    def _smtp_complete(self) -> Settings:
        if self.smtp_host and not self.smtp_from:
            raise ValueError("SMTP_FROM is required when SMTP_HOST is set")
        if bool(self.smtp_username) != bool(self.smtp_password):
            raise ValueError("SMTP_USERNAME and SMTP_PASSWORD must be set together")
        return self

    @model_validator(mode="after")
    def _demo_folder_uses_the_demo_source(self) -> Settings:
        """In the demo's folder (DATA_DIR holding the demo's source, embedded store, no
        source configured) every command reads the demo's source with its queries — as
        ``admin-metrics demo`` does — instead of querying the store as if it were the app."""
        if self.database_url or self.source_database_url:
            return self
        source = self.data_dir / DEMO_SOURCE_FILE
        if source.is_file():
            self.source_database_url = f"sqlite:///{source.resolve()}"
            queries = self.data_dir / DEMO_QUERIES_FILE
            if self.source_queries_file is None and queries.is_file():
                self.source_queries_file = queries
            catalogue = self.data_dir / DEMO_CATALOGUE_FILE
            if self.metrics_catalogue_file is None and catalogue.is_file():
                self.metrics_catalogue_file = catalogue
        return self

    @field_validator("prometheus_token")
    @classmethod
    def _long_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 16:
            raise ValueError("must be at least 16 characters")
        return value

    @model_validator(mode="after")
    def _prometheus_protected(self) -> Settings:
        if self.prometheus_enabled and not (self.prometheus_token or self.prometheus_allow):
            raise ValueError(
                "PROMETHEUS_ENABLED=true needs PROMETHEUS_TOKEN or PROMETHEUS_ALLOW "
                "(/metrics is never open to everyone)"
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
    def login_limit(self) -> tuple[int, int]:
        """LOGIN_RATE_LIMIT as (failures, window seconds)."""
        return parse_rate(self.login_rate_limit)

    @property
    def login_address_limit(self) -> tuple[int, int]:
        """LOGIN_ADDRESS_RATE_LIMIT as (failures, window seconds)."""
        return parse_rate(self.login_address_rate_limit)

    @property
    def store_is_sqlite(self) -> bool:
        return make_url(self.store_url).get_backend_name() == "sqlite"

    @property
    def smtp_port_or_default(self) -> int:
        """SMTP_PORT, or the usual port of SMTP_SECURITY."""
        return self.smtp_port or {"none": 25, "starttls": 587, "ssl": 465}[self.smtp_security]

    @property
    def public_base_url(self) -> str | None:
        """PUBLIC_URL with exactly one trailing slash (links are joined onto it)."""
        return str(self.public_url).rstrip("/") + "/" if self.public_url else None


def _one_line(exc: ValidationError) -> str:
    err = exc.errors()[0]
    name = "_".join(str(p) for p in err["loc"]).upper()
    msg = err["msg"].removeprefix("Value error, ")
    if not name:  # a rule over several settings: the message names them and their values
        return f"Invalid settings: {msg}"
    value = err.get("input")
    shown = ""
    # The bad value once: messages never repeat it, this suffix says it (never secrets).
    secret = any(word in name for word in ("SECRET", "PASSWORD", "TOKEN", "URL"))
    if isinstance(value, str | int | float) and not secret:
        shown = f" (got {value!r})"
    return f"Invalid setting {name}: {msg}{shown}"


def environment_value(name: str) -> str | None:
    """The variable a configuration file names instead of a secret (a catalogue source's
    ``url_env``), read as the settings are: the environment, else ``.env``."""
    value = os.environ.get(name)
    if value is None:
        value = dotenv_values(".env").get(name)
    return value or None


def load_settings(**overrides: object) -> Settings:
    """Build settings from the environment; raise ``SettingsError`` with one clear line."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise SettingsError(_one_line(exc)) from None
    except _SourceError as exc:  # e.g. a value pydantic-settings could not decode
        raise SettingsError(f"Invalid setting: {exc}") from None


class _StoreOnly(BaseSettings):
    """Just the store's location, read the same way as ``Settings``."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )
    database_url: str | None = None
    data_dir: Path = Path("var")


def store_url_despite_error() -> str | None:
    """The store URL when the rest of the settings are wrong (to record the refused start
    in the audit log); None when the store's own settings are what is wrong, or when the
    embedded SQLite store does not exist yet (it is not created for this)."""
    try:
        values = _StoreOnly()
        url = _check_db_url(values.database_url)
    except (ValidationError, _SourceError, ValueError):
        return None
    if url:
        return url
    path = (values.data_dir / "metrics.db").resolve()
    return f"sqlite:///{path}" if path.exists() else None
