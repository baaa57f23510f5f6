"""The message catalogue of alert and report mails: Korean with the English next to it.

(The dashboard's own catalogue is ``dashboard/i18n.py``; this package may not import it.)
"""

from __future__ import annotations

from typing import Final

MESSAGES: Final[dict[str, tuple[str, str]]] = {
    "product": ("관리자 메트릭 히스토리", "Admin Metrics History"),
    "level.info": ("정보", "Info"),
    "level.warning": ("주의", "Warning"),
    "level.critical": ("위험", "Critical"),
    "purpose.firing": ("발생", "Firing"),
    "purpose.resolved": ("해결", "Resolved"),
    "purpose.reminder": ("계속", "Still firing"),
    "purpose.test": ("테스트", "Test"),
    # --- conditions -----------------------------------------------------------------------
    "cond.above": ("{metric} {value} 초과", "{metric} above {value}"),
    "cond.below": ("{metric} {value} 미만", "{metric} below {value}"),
    "cond.slots": (" ({n}회 연속 수집)", " for {n} consecutive slots"),
    "cond.change.both": (
        "{metric} 최근 {days}일 평균이 직전 {days}일 대비 {percent}% 넘게 변화",
        "{metric}: the {days}-day average changed by more than {percent}% against the "
        "{days} days before",
    ),
    "cond.change.up": (
        "{metric} 최근 {days}일 평균이 직전 {days}일 대비 {percent}% 넘게 증가",
        "{metric}: the {days}-day average rose by more than {percent}% against the "
        "{days} days before",
    ),
    "cond.change.down": (
        "{metric} 최근 {days}일 평균이 직전 {days}일 대비 {percent}% 넘게 감소",
        "{metric}: the {days}-day average fell by more than {percent}% against the "
        "{days} days before",
    ),
    "cond.failed_slots": (
        "메트릭 수집이 {n}회 연속 실패",
        "Metric collection failed for {n} consecutive slots",
    ),
    "cond.no_success": (
        "{hours}시간 동안 성공한 메트릭 수집 없음",
        "No successful metric collection for {hours} hours",
    ),
    "cond.forecast": (
        "저장 공간이 {days}일 안에 용량({capacity})에 도달할 것으로 예상",
        "Storage expected to reach its capacity ({capacity}) within {days} days",
    ),
    # --- what was seen --------------------------------------------------------------------
    "seen.value": ("현재 값: {value} ({slot})", "Current value: {value} ({slot})"),
    "seen.change": (
        "최근 평균 {average}, 직전 평균 {previous} ({change})",
        "Recent average {average}, previous {previous} ({change})",
    ),
    "seen.failed_slots": (
        "연속 실패 {n}회, 마지막 실패 {slot}",
        "{n} failed slots in a row, the last at {slot}",
    ),
    "seen.no_success": (
        "마지막 성공 수집: {slot} ({hours}시간 전)",
        "Last successful collection: {slot} ({hours} hours ago)",
    ),
    "seen.never": ("성공한 수집 없음", "No successful collection yet"),
    "seen.forecast": (
        "현재 {latest}, 하루 {slope} 증가, 약 {days_left}일 후 {reach} 도달 예상",
        "Now {latest}, growing {slope} a day, capacity expected in about {days_left} days "
        "({reach})",
    ),
    "seen.forecast_full": ("이미 용량에 도달함: {latest}", "Capacity already reached: {latest}"),
    # --- alert mail -----------------------------------------------------------------------
    "mail.alert.subject": (
        "[{level}·{purpose}] {rule}: {condition}",
        "[{level} · {purpose}] {rule}: {condition}",
    ),
    "mail.alert.firing": (
        "알림 규칙 '{rule}'의 조건이 충족되었습니다.",
        "The condition of alert rule '{rule}' is met.",
    ),
    "mail.alert.resolved": (
        "알림 규칙 '{rule}'의 조건이 해소되었습니다 (지속 시간 {duration}).",
        "The condition of alert rule '{rule}' has ended (it lasted {duration}).",
    ),
    "mail.alert.reminder": (
        "알림 규칙 '{rule}'의 조건이 {duration}째 계속되고 있습니다.",
        "The condition of alert rule '{rule}' has lasted {duration} so far.",
    ),
    "mail.alert.test": (
        "알림 규칙 '{rule}'의 테스트 메시지입니다. 설정이 올바르면 이 메일이 도착합니다.",
        "This is a test message of alert rule '{rule}': if you read it, the channel works.",
    ),
    "mail.level": ("수준", "Level"),
    "mail.condition": ("조건", "Condition"),
    "mail.seen": ("관측", "Observed"),
    "mail.started": ("시작", "Started"),
    "mail.resolved_at": ("해소", "Resolved"),
    "mail.zone": ("시간대", "Time zone"),
    "mail.dashboard": ("대시보드", "Dashboard"),
    "mail.footer": (
        "이 메일은 {product}이(가) 자동으로 보냈습니다.",
        "This mail was sent automatically by {product}.",
    ),
    "duration.minutes": ("{n}분", "{n} min"),
    "duration.hours": ("{h}시간 {m}분", "{h} h {m} min"),
    "duration.days": ("{d}일 {h}시간", "{d} d {h} h"),
    # --- report mail ----------------------------------------------------------------------
    "report.weekly": ("주간 보고", "Weekly report"),
    "report.monthly": ("월간 보고", "Monthly report"),
    "report.subject": ("[{kind}] {product} {period}", "[{kind}] {product} {period}"),
    "report.intro": (
        "{period} ({zone}) 메트릭 보고서를 첨부합니다. 변화율은 직전 동일 기간 평균 대비입니다.",
        "Attached is the metrics report of {period} ({zone}). Changes compare the period's "
        "average with the previous period of the same length.",
    ),
    "report.latest": ("최근 값", "Latest"),
    "report.change": ("변화", "Change"),
    "report.metric": ("메트릭", "Metric"),
    "report.attachments": ("첨부", "Attached"),
    "report.manual": (" (수동 발송)", " (sent by hand)"),
}


def t(key: str, lang: str = "ko") -> str:
    korean, english = MESSAGES[key]
    return english if lang == "en" else korean
