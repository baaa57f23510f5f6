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
    "login.rate_limited": (
        "로그인 시도가 너무 많습니다. 잠시 후 다시 시도하세요.",
        "Too many sign-in attempts. Please wait a minute and try again.",
    ),
    "login.csrf": (
        "세션이 만료되었습니다. 다시 시도하세요.",
        "Your session expired. Please try again.",
    ),
    "login.logged_out": ("로그아웃되었습니다.", "You have been signed out."),
    "nav.logout": ("로그아웃", "Sign out"),
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
        "비교 기간 {period}은(는) {granularity} 데이터 보관 기간({days}일, {kept} 이후)을 "
        "벗어나 {what}. 일별 데이터로 비교하면 최근 {daily_days}일까지 볼 수 있습니다.",
        "The comparison period {period} lies beyond what {granularity} data keeps "
        "({days} days, since {kept}): {what}. Daily data compares up to {daily_days} days back.",
    ),
    "dash.retention_current": (
        "{granularity} 데이터는 최근 {days}일({kept} 이후)만 보관됩니다. 요청한 {period} 중 "
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
    "dash.export_csv": ("CSV 내보내기", "Export CSV"),
    "dash.export_pdf": ("PDF 내보내기", "Export PDF"),
    "dash.preset_24h": ("24시간", "24 h"),
    "dash.preset_today": ("오늘", "Today"),
    "dash.preset_week": ("이번 주", "This week"),
    "dash.preset_month": ("이번 달", "This month"),
    "dash.theme_dark": ("어두운 테마", "Dark theme"),
    "dash.theme_light": ("밝은 테마", "Light theme"),
    "dash.controls": ("보기 설정", "View settings"),
    "dash.start_date": ("시작일", "Start date"),
    "dash.end_date": ("종료일", "End date"),
    "dash.compare_start_date": ("비교 시작일", "Comparison start date"),
    "dash.compare_end_date": ("비교 종료일", "Comparison end date"),
    "dash.updated": ("업데이트 {time} ({ago})", "updated {time} ({ago})"),
    "dash.minutes_ago": ("{n}분 전", "{n} min ago"),
    "dash.just_now": ("방금", "just now"),
    "dash.refreshed": ("새 데이터로 갱신됨 ({time})", "Refreshed with new data ({time})"),
    "dash.zoomed": ("확대: {start} – {end}", "Zoomed: {start} – {end}"),
    "dash.zoom_reset": ("확대 해제", "Reset zoom"),
    "dash.view_table": ("표로 보기", "View as table"),
    "dash.hide_table": ("표 닫기", "Hide table"),
    "dash.table_caption": ("{metric} 데이터 ({n}개 포인트)", "{metric} data ({n} points)"),
    "dash.table_time": ("시각", "Time"),
    "dash.table_value": ("값", "Value"),
    "dash.table_period": ("기간", "Period"),
    "dash.table_gap": ("수집 실패 (누락)", "Collection failed (missing)"),
    "dash.graph_tools": ("{metric} 그래프 도구", "{metric} graph tools"),
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
}


def t(key: str, lang: str = "ko") -> str:
    """The message for ``key`` in ``lang`` (Korean when the language is unknown)."""
    ko, en = MESSAGES[key]
    return en if lang == "en" else ko
