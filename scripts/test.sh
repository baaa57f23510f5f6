#!/usr/bin/env bash
# One command for the whole test suite: installs what it needs, checks the code's shape
# (import contracts, lint, format, types), then runs the tests; they start their own
# PostgreSQL server, app servers and headless Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh test
.venv/bin/lint-imports --no-cache   # the rooms import one way, no cycles (pyproject.toml)
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy                      # the packages listed in [tool.mypy]
exec .venv/bin/python -m pytest "$@"
