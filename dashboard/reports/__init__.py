"""CSV and PDF reports: value types, CSV, the Kaleido chart renderer, the ReportLab PDF and
the export service. No Flask, no Dash, no app context: the CLI builds a PDF without the web app.
"""
