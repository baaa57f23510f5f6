"""Domain errors of the collection engine."""

from __future__ import annotations

from admin_metrics.settings import SettingsError


class SourceQueryConfigError(SettingsError):
    """A replacement query in SOURCE_QUERIES_FILE is unusable; one line naming the metric."""


class CatalogueConfigError(SettingsError):
    """An entry of METRICS_CATALOGUE_FILE is unusable; one line naming the metric."""


class CollectionError(Exception):
    """Reading the source failed.

    ``metric_id`` names the metric whose query failed (None when the whole source was
    unreachable); ``retryable`` says whether another attempt could succeed.
    """

    def __init__(
        self,
        message: str,
        *,
        metric_id: str | None = None,
        retryable: bool = True,
        reason: str | None = None,
    ):
        super().__init__(message)
        self.metric_id = metric_id
        self.retryable = retryable
        # English reason without the metric name, for start-up errors and logs.
        self.reason = reason or message


class CollectionTimeout(CollectionError):
    """An attempt's deadline passed before the source answered (retryable)."""
