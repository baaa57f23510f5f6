"""The six collectors (SPEC §3) as small registered units.

Each collector is a metric id plus its default query against the LLM web app schema. The
query receives the collection instant as the bound parameter ``:now`` (never the database
clock) so a slot can be collected "as of" a given time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from db.metrics import METRIC_IDS


@dataclass(frozen=True, slots=True)
class Collector:
    metric_id: str
    default_query: str


COLLECTORS: dict[str, Collector] = {}


def register(metric_id: str, default_query: str) -> Collector:
    if metric_id not in METRIC_IDS:
        raise ValueError(f"unknown metric id {metric_id!r}")
    if metric_id in COLLECTORS:
        raise ValueError(f"collector {metric_id!r} registered twice")
    collector = Collector(metric_id, " ".join(default_query.split()))
    COLLECTORS[metric_id] = collector
    return collector


register(
    "active_users",
    "SELECT count(DISTINCT user_id) FROM sessions WHERE expires_at > :now",
)
register("storage_bytes", "SELECT coalesce(sum(file_size), 0) FROM documents")
register("active_sessions", "SELECT count(*) FROM sessions WHERE expires_at > :now")
register("conversation_count", "SELECT count(*) FROM conversations")
register("document_count", "SELECT count(*) FROM documents")
register("tag_count", "SELECT count(*) FROM tags")

assert tuple(COLLECTORS) == METRIC_IDS, "one collector per metric, in catalogue order"

DEFAULT_QUERIES: Final[dict[str, str]] = {c.metric_id: c.default_query for c in COLLECTORS.values()}
