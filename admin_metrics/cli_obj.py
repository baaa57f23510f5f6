"""The command line's shared state: the lazily loaded settings, passed to every verb."""

from __future__ import annotations

import click

from admin_metrics.logs import configure_logging
from admin_metrics.settings import Settings, load_settings


class Obj:
    """Settings are loaded lazily, so ``--help`` works with a broken environment."""

    _settings: Settings | None = None
    _store_checked = False

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings()
            configure_logging(self._settings.log_level, self._settings.log_format)
        return self._settings

    @property
    def store_url(self) -> str:
        """The store's URL once it is known to be reachable and at this version's schema.

        Otherwise one line says what to do (``db upgrade``, where the store is expected) —
        never a traceback, and never a new empty database in the folder the command ran in.
        """
        self.check_store()
        return self.settings.store_url

    def check_store(self) -> None:
        """Raise a one-line ``ClickException`` unless the store can be used (see above)."""
        from db.migrate import SchemaError, require_schema

        if not self._store_checked:
            try:
                require_schema(self.settings.store_url)
            except SchemaError as exc:
                raise click.ClickException(str(exc)) from None
            self._store_checked = True


pass_obj = click.make_pass_decorator(Obj, ensure=True)
