"""The command line's shared state: the lazily loaded settings, passed to every verb."""

from __future__ import annotations

import click

from admin_metrics.logs import configure_logging
from admin_metrics.settings import Settings, load_settings


class Obj:
    """Settings are loaded lazily, so ``--help`` works with a broken environment."""

    _settings: Settings | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings()
            configure_logging(self._settings.log_level, self._settings.log_format)
        return self._settings


pass_obj = click.make_pass_decorator(Obj, ensure=True)
