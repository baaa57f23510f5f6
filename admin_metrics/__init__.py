"""Admin Metrics History: settings, CLI and WSGI entry points."""

__version__ = "1.0.0"
