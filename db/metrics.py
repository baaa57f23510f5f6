"""The catalogue of the six system-wide metrics (SPEC §3)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

# The source instance every value comes from until several can be configured (the name the
# API's catalogue and Prometheus' `source` label already give it).
DEFAULT_SOURCE: Final = "default"

Granularity = Literal["hourly", "daily"]
GRANULARITIES: Final[tuple[str, ...]] = ("hourly", "daily")


@dataclass(frozen=True, slots=True)
class MetricInfo:
    id: str
    name_ko: str
    name_en: str
    unit_ko: str
    unit_en: str
    is_bytes: bool = False

    def name(self, lang: str) -> str:
        return self.name_ko if lang == "ko" else self.name_en

    def unit(self, lang: str) -> str:
        return self.unit_ko if lang == "ko" else self.unit_en


METRICS: Final[tuple[MetricInfo, ...]] = (
    MetricInfo("active_users", "활성 사용자", "Active users", "명", "users"),
    MetricInfo("storage_bytes", "저장 공간", "Storage", "bytes", "bytes", is_bytes=True),
    MetricInfo("active_sessions", "활성 세션", "Active sessions", "개", "sessions"),
    MetricInfo("conversation_count", "대화 수", "Conversations", "개", "conversations"),
    MetricInfo("document_count", "문서 수", "Documents", "개", "documents"),
    MetricInfo("tag_count", "태그 수", "Tags", "개", "tags"),
)
METRIC_IDS: Final[tuple[str, ...]] = tuple(m.id for m in METRICS)
METRICS_BY_ID: Final[dict[str, MetricInfo]] = {m.id: m for m in METRICS}
