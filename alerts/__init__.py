"""Alerts and scheduled reports: rules evaluated on the stored series after each collection,
notifications over the intranet's mail relay and JSON webhooks, weekly/monthly PDF reports.

Imports ``db`` (and the settings leaf) only — never ``dashboard``, Flask or Dash. What needs
the web wing (value formatting, the PDF/CSV report service) comes in as a ``Presenter``
from the composition root (``dashboard.app``'s factory or the CLI).
"""
