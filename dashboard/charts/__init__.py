"""Pure chart computation: series reduction and gaps, formatting, summaries, figure builders.

Imports pandas, numpy, plotly, ``dashboard.i18n`` and ``db.metrics`` only: no Flask, no Dash.
"""
