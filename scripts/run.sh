#!/usr/bin/env bash
# One command to see the product: embedded SQLite store, simulated source with history,
# a demo admin (printed), server on http://127.0.0.1:8050/admin/metrics/.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh run
exec .venv/bin/admin-metrics demo "$@"
