"""The one message catalogue: Korean (default) with the English next to it."""

from __future__ import annotations

from typing import Final

LANGUAGES: Final = ("ko", "en")

# key: (Korean, English)
MESSAGES: Final[dict[str, tuple[str, str]]] = {
    "app.title": ("관리자 메트릭 히스토리", "Admin Metrics History"),
    "login.title": ("관리자 로그인", "Administrator sign-in"),
    "login.username": ("사용자 이름", "User name"),
    "login.password": ("비밀번호", "Password"),
    "login.submit": ("로그인", "Sign in"),
    "login.failed": (
        "사용자 이름 또는 비밀번호가 올바르지 않습니다.",
        "Wrong user name or password.",
    ),
    "login.locked": (
        "로그인 시도가 너무 많습니다. {time}에 다시 시도할 수 있습니다 ({seconds}초 후).",
        "Too many sign-in attempts. You can try again at {time} (in {seconds} s).",
    ),
    "login.csrf": (
        "세션이 만료되었습니다. 다시 시도하세요.",
        "Your session expired. Please try again.",
    ),
    "login.logged_out": ("로그아웃되었습니다.", "You have been signed out."),
    "nav.logout": ("로그아웃", "Sign out"),
    "logout.title": ("로그아웃", "Sign out"),
    "logout.confirm": ("로그아웃하시겠습니까?", "Sign out of the dashboard?"),
    "logout.back": ("대시보드로 돌아가기", "Back to the dashboard"),
    "nav.language": ("English", "한국어"),
    "auth.required": ("관리자 로그인이 필요합니다.", "Administrator sign-in required."),
    "auth.forbidden": ("관리자 권한이 필요합니다.", "Administrator rights required."),
    "error.not_found": ("찾을 수 없습니다.", "Not found."),
    "error.internal": ("서버 내부 오류가 발생했습니다.", "Internal server error."),
    # --- dashboard page (dash.*) ---
    "dash.gap_hover": (
        "이 기간 동안 데이터 수집 실패",
        "Data collection failed during this period",
    ),
    "dash.empty_title": ("데이터 수집 중입니다", "Collecting data"),
    "dash.empty_detail": (
        "첫 데이터는 {time}에 표시됩니다",
        "The first data will appear at {time}",
    ),
    "dash.no_data_range": ("선택한 기간에 데이터가 없습니다", "No data in the selected period"),
    "dash.load_failed": (
        "메트릭 데이터를 불러오는데 실패했습니다",
        "Failed to load the metric data",
    ),
    "dash.retry": ("다시 시도", "Retry"),
    "dash.bad_request": ("잘못된 요청입니다.", "Bad request."),
    "dash.downsampled": ("{n}개 포인트에서 {m}개로 축소됨", "downsampled from {n} points"),
    "dash.range": ("기간", "Range"),
    "dash.days": ("{n}일", "{n} days"),
    "dash.custom": ("직접 선택", "Custom"),
    "dash.granularity": ("단위", "Granularity"),
    "dash.hourly": ("시간별", "Hourly"),
    "dash.daily": ("일별", "Daily"),
    "dash.compare": ("기간 비교", "Compare periods"),
    "dash.compare_previous": ("직전 동일 기간", "Previous period"),
    "dash.compare_custom": ("직접 선택", "Custom period"),
    "dash.compare_with": ("비교 기간", "Compare with"),
    "dash.retention_hourly": (
        "시간별 데이터는 최근 {days}일만 보관됩니다. 보관된 데이터만 표시합니다.",
        "Hourly data is kept for {days} days only; showing what is available.",
    ),
    "dash.retention_daily": (
        "일별 데이터는 최근 {days}일만 보관됩니다. 보관된 데이터만 표시합니다.",
        "Daily data is kept for {days} days only; showing what is available.",
    ),
    "dash.latest": ("현재 값", "Latest"),
    "dash.average": ("기간 평균", "Period average"),
    "dash.min": ("최소", "min"),
    "dash.max": ("최대", "max"),
    "dash.change_compare": ("평균, 비교 기간 대비", "Average vs. comparison"),
    "dash.compare_empty": ("비교 기간에 데이터 없음", "no data in the comparison period"),
    "dash.retention_compare": (
        "비교 기간 {period}은(는) {granularity} 데이터 보관 기간(최근 {days}일, {kept} 이후)을 "
        "벗어나 {what}. 일별 데이터로 비교하면 최근 {daily_days}일까지 볼 수 있습니다.",
        "The comparison period {period} lies beyond what {granularity} data keeps "
        "({days} days, since {kept}): {what}. Daily data compares up to {daily_days} days back.",
    ),
    "dash.retention_current": (
        "{granularity} 데이터는 최근 {days}일만 보관됩니다({kept} 이후). 요청한 {period} 중 "
        "보관된 {days}일만 표시합니다.",
        "{granularity} data is kept for {days} days (since {kept}); of the requested "
        "{period} only the kept {days} days are shown.",
    ),
    "dash.retention_none": ("데이터가 없습니다", "it has no data"),
    "dash.retention_part": ("일부만 비교합니다", "only part of it is compared"),
    "dash.switch_daily": ("일별로 비교", "Compare daily"),
    "dash.granularity_hourly": ("시간별", "Hourly"),
    "dash.granularity_daily": ("일별", "Daily"),
    "dash.invalid_param": (
        "잘못된 주소 값을 무시했습니다: {params}",
        "Ignored an invalid URL parameter: {params}",
    ),
    "dash.gap_range": (
        "누락 {n}개 슬롯: {first} – {last}",
        "{n} missing slot(s): {first} – {last}",
    ),
    "dash.timezone": ("시간대", "Time zone"),
    "dash.status.healthy": ("정상", "Healthy"),
    "dash.status.warning": ("주의", "Warning"),
    "dash.status.error": ("오류", "Error"),
    "dash.status.pending": ("수집 대기", "Pending"),
    "dash.status.last": ("마지막 수집", "Last collection"),
    "dash.status.next": ("다음 수집", "Next collection"),
    "dash.status.failures": ("24시간 실패", "Failures (24 h)"),
    "dash.status.never": ("없음", "never"),
    "dash.status.off": ("꺼짐", "off"),
    "dash.status.details": ("최근 수집 실패 보기", "Show recent collection failures"),
    "dash.status.recent_failures": ("최근 24시간 수집 실패", "Collection failures, last 24 h"),
    "dash.status.no_failures": (
        "최근 24시간 동안 실패한 수집이 없습니다.",
        "No failed collections in the last 24 hours.",
    ),
    "dash.status.col_time": ("시각", "Time"),
    "dash.status.col_metric": ("메트릭", "Metric"),
    "dash.status.col_reason": ("원인", "Reason"),
    "dash.status.all_metrics": ("전체 메트릭", "All metrics"),
    "dash.status.n_metrics": ("메트릭 {n}개", "{n} metrics"),
    # The two reasons the collector records in fixed words (collectors.accounting).
    "dash.status.reason_missed": (
        "실행 중인 수집기가 없어 이 시각의 메트릭이 수집되지 않음",
        "No collector was running at this time; the metrics were not collected",
    ),
    "dash.status.reason_stopped": (
        "수집 도중 수집기가 중단되어 이 시각의 메트릭이 저장되지 않음",
        "The collector stopped during the collection; the metrics were not stored",
    ),
    "dash.status.failed_slots": (
        "실패한 수집 {failed}회 (수집기 없음·중단 {missed}회)",
        "{failed} failed slot(s) ({missed} with no collector running or stopped)",
    ),
    "dash.export_csv": ("CSV 내보내기", "Export CSV"),
    "dash.export_pdf": ("PDF 내보내기", "Export PDF"),
    "dash.invalid_range": (
        "기간이 올바르지 않습니다. 7일 보기를 표시합니다.",
        "The selected period is not valid; showing 7 days.",
    ),
    # --- REST API (api.*) ---
    "api.missing_parameter": ("필수 값이 없습니다: {field}", "Required value missing: {field}"),
    "api.unknown_metric": (
        "알 수 없는 메트릭입니다: {field} (active_users, storage_bytes, active_sessions, "
        "conversation_count, document_count, tag_count 중 하나)",
        "Unknown metric: {field} (one of active_users, storage_bytes, active_sessions, "
        "conversation_count, document_count, tag_count)",
    ),
    "api.unknown_granularity": (
        "집계 단위는 hourly 또는 daily여야 합니다.",
        "Granularity must be hourly or daily.",
    ),
    "api.invalid_date": (
        "날짜 형식이 올바르지 않습니다: {field} (ISO 8601, 예: 2025-11-02T10:00:00Z)",
        "Malformed timestamp: {field} (ISO 8601, e.g. 2025-11-02T10:00:00Z)",
    ),
    "api.timezone_required": (
        "시간대가 없는 날짜입니다: {field} (Z 또는 +09:00 같은 오프셋을 붙이세요)",
        "Timestamp without offset: {field} (add Z or an offset such as +09:00)",
    ),
    "api.invalid_time_range": (
        "종료 시각은 시작 시각보다 뒤여야 합니다.",
        "The end must be after the start.",
    ),
    "api.outside_retention": (
        "요청한 기간이 보관 기간을 벗어납니다 ({granularity} 데이터는 최근 {days}일만 보관).",
        "The range is outside retention ({granularity} data is kept for {days} days).",
    ),
    "api.invalid_parameter": ("값이 올바르지 않습니다: {field}", "Invalid value: {field}"),
    "api.invalid_body": (
        "요청 본문은 JSON 객체여야 합니다 (Content-Type: application/json).",
        "The request body must be a JSON object (Content-Type: application/json).",
    ),
    "api.export_metric_count": (
        "메트릭은 1개에서 6개까지 선택할 수 있습니다.",
        "Choose between 1 and 6 metrics.",
    ),
    "api.export_invalid_format": (
        "형식은 csv 또는 pdf여야 합니다.",
        "The format must be csv or pdf.",
    ),
    "api.export_range_too_long": (
        "내보내기 기간은 최대 90일입니다.",
        "An export covers at most 90 days.",
    ),
    "api.export_too_large": (
        "내보내기 파일이 최대 크기를 넘습니다.",
        "The export exceeds the maximum file size.",
    ),
    "api.export_failed": ("데이터 내보내기에 실패했습니다", "Data export failed"),
    "api.export_not_found": (
        "내보내기 파일이 없거나 만료되었습니다.",
        "The export does not exist or has expired.",
    ),
    "api.not_found": ("API 경로를 찾을 수 없습니다.", "No such API path."),
    "api.method_not_allowed": (
        "이 경로에서 허용되지 않는 HTTP 메서드입니다.",
        "HTTP method not allowed on this path.",
    ),
    "api.request_too_large": ("요청 본문이 너무 큽니다.", "The request body is too large."),
    "api.bad_request": ("잘못된 요청입니다.", "Bad request."),
    "api.store_unavailable": (
        "메트릭 저장소에 연결할 수 없습니다. 잠시 후 다시 시도하세요.",
        "The metrics store is unreachable. Please try again shortly.",
    ),
    "api.alert_invalid": (
        "알림 설정이 올바르지 않습니다: {detail}",
        "Invalid alert settings: {detail}",
    ),
    "api.alert_not_found": ("찾을 수 없습니다: {detail}", "Not found: {detail}"),
    "api.alert_conflict": ("이미 있는 이름입니다: {detail}", "The name is taken: {detail}"),
    "api.report_send_failed": (
        "보고서를 보내지 못했습니다: {detail}",
        "The report could not be sent: {detail}",
    ),
    # --- exports (export.*) ---
    "export.failed": ("데이터 내보내기에 실패했습니다", "Data export failed"),
    "export.too_large": (
        "내보낼 데이터가 너무 큽니다. 기간이나 메트릭 수를 줄여 주세요.",
        "The export is too large. Choose a shorter period or fewer metrics.",
    ),
    "export.downsampled": (
        "파일 크기 제한으로 데이터가 다운샘플링되었습니다.",
        "The data was downsampled to fit the file size limit.",
    ),
    "export.csv.timestamp": ("시각", "Timestamp"),
    "export.csv.date": ("날짜", "Date"),
    "export.range_too_long": (
        "내보내기는 최대 90일까지 가능합니다. 기간을 줄여 주세요.",
        "Exports cover at most 90 days; choose a shorter period.",
    ),
    "export.csv.compare_label": ("비교 기간", "Comparison period"),
    "export.pdf.title": ("관리자 메트릭 보고서", "Admin Metrics Report"),
    "export.pdf.period": ("기간", "Period"),
    "export.pdf.timezone": ("시간대", "Time zone"),
    "export.pdf.generated": ("생성 시각", "Generated"),
    "export.pdf.granularity": ("집계 단위", "Granularity"),
    "export.pdf.hourly": ("시간별", "Hourly"),
    "export.pdf.daily": ("일별", "Daily"),
    "export.pdf.summary": ("요약", "Summary"),
    "export.pdf.charts": ("추이", "Trends"),
    "export.pdf.metric": ("메트릭", "Metric"),
    "export.pdf.current": ("현재", "Current"),
    "export.pdf.min": ("최소", "Min"),
    "export.pdf.max": ("최대", "Max"),
    "export.pdf.average": ("평균", "Average"),
    "export.pdf.compare_average": ("비교 기간 평균", "Comparison avg."),
    "export.pdf.change": ("변화율", "Change"),
    "export.pdf.change_note": (
        "변화율: 이 기간 평균과 비교 기간 평균의 비교 ({previous})",
        "Change: this period's average vs the comparison period's average ({previous})",
    ),
    "export.pdf.page": ("{page} / {total} 페이지", "Page {page} of {total}"),
    # --- collection (collect.*) ---
    # --- alerts page (alerts.*) ---
    "alerts.open": ("알림", "Alerts"),
    "alerts.title": ("알림 / Alerts", "Alerts / 알림"),
    "alerts.close": ("닫기", "Close"),
    "alerts.rules": ("알림 규칙", "Alert rules"),
    "alerts.none": ("아직 알림 규칙이 없습니다.", "No alert rules yet."),
    "alerts.col.name": ("이름", "Name"),
    "alerts.col.condition": ("조건", "Condition"),
    "alerts.col.level": ("수준", "Level"),
    "alerts.col.state": ("상태", "State"),
    "alerts.col.channels": ("채널", "Channels"),
    "alerts.col.started": ("시작", "Started"),
    "alerts.col.resolved": ("해소", "Resolved"),
    "alerts.col.deliveries": ("전송", "Deliveries"),
    "alerts.state.ok": ("정상", "OK"),
    "alerts.state.firing": ("발생 중", "Firing"),
    "alerts.state.off": ("꺼짐", "Off"),
    "alerts.level.info": ("정보", "Info"),
    "alerts.level.warning": ("주의", "Warning"),
    "alerts.level.critical": ("위험", "Critical"),
    "alerts.edit": ("편집", "Edit"),
    "alerts.disable": ("끄기", "Disable"),
    "alerts.enable": ("켜기", "Enable"),
    "alerts.form.new": ("새 규칙", "New rule"),
    "alerts.form.edit": ("규칙 편집: {name}", "Edit rule: {name}"),
    "alerts.field.name": ("이름", "Name"),
    "alerts.field.metric": ("메트릭", "Metric"),
    "alerts.field.condition": ("조건", "Condition"),
    "alerts.field.op": ("비교", "Comparison"),
    "alerts.field.value": (
        "임계값 (메트릭 단위, 저장 공간은 바이트)",
        "Threshold (metric's unit, bytes for storage)",
    ),
    "alerts.field.slots": ("연속 수집 횟수", "Consecutive slots"),
    "alerts.field.percent": ("변화율 (%)", "Change (%)"),
    "alerts.field.days": ("기간 (일)", "Period (days)"),
    "alerts.field.direction": ("방향", "Direction"),
    "alerts.field.mode": ("판단 기준", "Measured by"),
    "alerts.field.count": ("횟수 또는 시간", "Slots or hours"),
    "alerts.field.forecast_days": ("예측 기간 (일)", "Within (days)"),
    "alerts.field.level": ("수준", "Level"),
    "alerts.field.reminder": ("재알림 간격 (분, 비우면 없음)", "Remind every (min, empty: never)"),
    "alerts.field.language": ("메시지 언어", "Message language"),
    "alerts.field.channels": ("채널", "Channels"),
    "alerts.cond.threshold": ("임계값", "Threshold"),
    "alerts.cond.change": ("평균 변화", "Average change"),
    "alerts.cond.collection_failing": ("수집 실패", "Collection failing"),
    "alerts.cond.storage_forecast": ("저장 공간 예측", "Storage forecast"),
    "alerts.op.above": ("초과", "above"),
    "alerts.op.below": ("미만", "below"),
    "alerts.dir.both": ("양방향", "Both"),
    "alerts.dir.up": ("증가", "Up"),
    "alerts.dir.down": ("감소", "Down"),
    "alerts.mode.failed_slots": ("연속 실패 횟수", "Failed slots in a row"),
    "alerts.mode.no_success_hours": ("성공 없는 시간", "Hours without success"),
    "alerts.save": ("저장", "Save"),
    "alerts.clear": ("새로 작성", "Clear"),
    "alerts.saved": ("규칙 '{name}'을(를) 저장했습니다.", "Rule '{name}' saved."),
    "alerts.save_failed": ("저장하지 못했습니다: {detail}", "Not saved: {detail}"),
    "alerts.channels": ("채널", "Channels"),
    "alerts.no_channels": (
        "채널이 없습니다. 아래에서 추가하세요.",
        "No channels yet: add one below.",
    ),
    "alerts.channel.kind": ("종류", "Kind"),
    "alerts.channel.email": ("메일", "Email"),
    "alerts.channel.webhook": ("웹훅", "Webhook"),
    "alerts.channel.target": (
        "받는 사람 (쉼표로 구분) 또는 웹훅 URL",
        "Recipients (comma-separated) or webhook URL",
    ),
    "alerts.channel.secret": ("웹훅 서명 비밀값 (선택)", "Webhook signing secret (optional)"),
    "alerts.channel.add": ("채널 추가", "Add channel"),
    "alerts.channel.added": ("채널 '{name}'을(를) 추가했습니다.", "Channel '{name}' added."),
    "alerts.history": ("최근 알림", "Recent alerts"),
    "alerts.history.none": ("아직 발생한 알림이 없습니다.", "No alerts yet."),
    "alerts.ongoing": ("계속 중", "ongoing"),
    "alerts.delivery.sent": ("보냄", "sent"),
    "alerts.delivery.pending": ("재시도 대기", "retrying"),
    "alerts.delivery.failed": ("실패", "failed"),
    "alerts.kind.email": ("메일", "mail"),
    "alerts.kind.webhook": ("웹훅", "webhook"),
}


def t(key: str, lang: str = "ko") -> str:
    """The message for ``key`` in ``lang`` (Korean when the language is unknown)."""
    ko, en = MESSAGES[key]
    return en if lang == "en" else ko
