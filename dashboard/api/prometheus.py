"""``GET /metrics`` for Prometheus (PROMETHEUS_ENABLED; off by default): this product's own
collection health and the latest value of every series, in the text exposition format of
``prometheus_client``.

Never open to everyone: a scraper sends ``PROMETHEUS_TOKEN`` as a bearer token, or comes
from an address in ``PROMETHEUS_ALLOW``. Each scrape reads the store once (no state is kept
between scrapes, so every worker answers the same); a store that cannot be reached is the
app's 503 like everywhere else.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Iterator
from typing import Final

from flask import Flask, Response, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, StateSetMetricFamily
from prometheus_client.registry import Collector

from dashboard.context import AppContext
from db.queries import last_collection_seconds, latest_series
from db.status import collection_status

ENDPOINT: Final = "prometheus_metrics"
STATUSES: Final = ("healthy", "warning", "error", "pending")


class StoreCollector(Collector):
    """The store's view of collection and the newest hourly values, read at each scrape."""

    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx

    def collect(self) -> Iterator[GaugeMetricFamily | StateSetMetricFamily]:
        ctx = self.ctx
        with ctx.session() as session:
            status = collection_status(
                session,
                collection_enabled=ctx.settings.metrics_collection_enabled,
                is_collecting=ctx.scheduler is not None and ctx.scheduler.is_collecting,
                sources=ctx.catalogue.source_names,
            )
            durations = {
                s.source: last_collection_seconds(session, source=s.source) for s in status.sources
            }
            latest = latest_series(session, "hourly")

        # Collection health: one sample per source instance (its own light and slots).
        state = StateSetMetricFamily(
            "admin_metrics_collection_status",
            "Collection status light of each source (the page's colour)",
            labels=["source"],
        )
        last = _family(
            "admin_metrics_collection_last_success_timestamp_seconds",
            "Newest hourly slot stored (Unix time)",
        )
        failed = _family(
            "admin_metrics_collection_failed_slots_24h",
            "Hourly slots of the last 24 h with failures and no stored values",
        )
        missed = _family(
            "admin_metrics_collection_missed_slots_24h",
            "Hourly slots of the last 24 h that no collector finished",
        )
        duration = _family(
            "admin_metrics_collection_duration_seconds",
            "How long the newest stored slot's collection took",
        )
        for light in status.sources:
            name = [light.source]
            state.add_metric(name, {colour: colour == light.status for colour in STATUSES})
            if light.last_collection_at is not None:
                last.add_metric(name, light.last_collection_at.timestamp())
            failed.add_metric(name, light.failed_slots_24h)
            missed.add_metric(name, light.missed_slots_24h)
            seconds = durations[light.source]
            if seconds is not None:
                duration.add_metric(name, seconds)
        for family in (state, last, failed, missed, duration):
            if family.samples:
                yield family
        values = GaugeMetricFamily(
            "admin_metrics_value",
            "Latest stored hourly value of each catalogue series",
            labels=["metric", "source", "label"],
        )
        known = set(ctx.catalogue.ids)  # a metric dropped from the catalogue is not exported
        for metric, source, label, value in zip(
            latest["metric_type"], latest["source"], latest["label"], latest["value"], strict=True
        ):
            if metric in known:
                values.add_metric([str(metric), str(source), str(label)], float(value))
        yield values


def _family(name: str, documentation: str) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, labels=["source"])


def register_prometheus(server: Flask, ctx: AppContext) -> None:
    """Mount ``/metrics`` when PROMETHEUS_ENABLED (settings make sure it is protected)."""
    settings = ctx.settings
    if not settings.prometheus_enabled:
        return
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StoreCollector(ctx))
    allowed = [ipaddress.ip_network(cidr, strict=False) for cidr in settings.prometheus_allow]
    token = settings.prometheus_token.get_secret_value() if settings.prometheus_token else None

    def metrics() -> Response:
        if not (_from_allowed(allowed) or _has_token(token)):
            return Response(
                "PROMETHEUS_TOKEN (bearer) or an address in PROMETHEUS_ALLOW required\n",
                401,
                {"WWW-Authenticate": 'Bearer realm="metrics"', "Cache-Control": "no-store"},
                mimetype="text/plain",
            )
        body = generate_latest(registry)
        return Response(
            body, headers={"Cache-Control": "no-store"}, content_type=CONTENT_TYPE_LATEST
        )

    server.add_url_rule(ctx.url("metrics"), ENDPOINT, metrics)


def _from_allowed(networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> bool:
    try:
        address = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        return False
    return any(address in network for network in networks)


def _has_token(token: str | None) -> bool:
    scheme, _, sent = request.headers.get("Authorization", "").partition(" ")
    return (
        token is not None
        and scheme.lower() == "bearer"
        and hmac.compare_digest(sent.strip().encode(), token.encode())
    )
