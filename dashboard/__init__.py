"""The web side, in four rooms under a thin top: ``app`` (the factory), ``context``, ``auth``,
``i18n``, ``paths``; ``page`` (Dash), ``api`` (REST), ``reports`` (CSV/PDF, no web framework)
and ``charts`` (pure). Imports run one way, top to bottom (see pyproject's import contracts).
"""
