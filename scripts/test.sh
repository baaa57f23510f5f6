#!/usr/bin/env bash
# One command for the whole test suite: installs what it needs, the tests start their
# own PostgreSQL server, app servers and headless Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh test
exec .venv/bin/python -m pytest "$@"
