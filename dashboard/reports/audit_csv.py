"""The audit log as CSV: UTF-8 with BOM (Excel keeps the Korean), one event per row.

Cells that a spreadsheet would run as a formula (a user name typed as ``=HYPERLINK(…)`` at
the sign-in form ends up in the log) are prefixed with ``'``.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from datetime import UTC
from typing import Final

from dashboard.reports.types import spreadsheet_safe
from db.audit import AuditRecord

COLUMNS: Final = ("id", "occurred_at", "actor", "action", "address", "details")


def audit_csv(events: Iterable[AuditRecord]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for event in events:
        writer.writerow(
            [
                event.id,
                event.occurred_at.astimezone(UTC).isoformat(),
                spreadsheet_safe(event.actor),
                event.action,
                spreadsheet_safe(event.address),
                spreadsheet_safe(json.dumps(event.details, ensure_ascii=False, sort_keys=True))
                if event.details
                else "",
            ]
        )
    return buffer.getvalue().encode("utf-8-sig")
