"""``AlertConfig`` from the typed settings: the only place the feature reads ``Settings``."""

from __future__ import annotations

from admin_metrics.settings import Settings
from alerts.types import AlertConfig, SmtpConfig


def smtp_config(settings: Settings) -> SmtpConfig | None:
    """The relay, or None when SMTP_HOST is unset (mail channels then fail with that reason)."""
    if not settings.smtp_host:
        return None
    assert settings.smtp_from is not None  # the settings refuse SMTP_HOST without SMTP_FROM
    return SmtpConfig(
        host=settings.smtp_host,
        port=settings.smtp_port_or_default,
        security=settings.smtp_security,
        sender=settings.smtp_from,
        username=settings.smtp_username,
        password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
        ca_file=settings.smtp_ca_file,
    )


def alert_config(settings: Settings) -> AlertConfig:
    return AlertConfig(
        smtp=smtp_config(settings),
        public_url=settings.public_base_url,
        delivery_timeout=settings.alert_delivery_timeout_seconds,
        delivery_attempts=settings.alert_delivery_attempts,
        storage_capacity_bytes=settings.storage_capacity_bytes,
        zone=settings.default_timezone,
        default_language=settings.default_language,
        slot_seconds=settings.metrics_test_slot_seconds or 3600,
        hourly_retention_days=settings.metrics_hourly_retention_days,
    )
