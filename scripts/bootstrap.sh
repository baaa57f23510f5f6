#!/usr/bin/env bash
# Prepare this machine: system packages (Debian, when root) and the project's virtualenv.
# Usage: scripts/bootstrap.sh [run|test]   — idempotent; fast when everything is there.
set -euo pipefail
cd "$(dirname "$0")/.."
MODE="${1:-run}"

# Chromium + Korean font render PDF charts; the test suite also needs chromedriver,
# a PostgreSQL 15 server, nginx (reverse-proxy tests) and poppler (PDF checks).
APT_RUN=(chromium fonts-nanum)
APT_TEST=(chromium chromium-driver fonts-nanum postgresql-15 nginx poppler-utils)
if [[ "$MODE" == "test" ]]; then PKGS=("${APT_TEST[@]}"); else PKGS=("${APT_RUN[@]}"); fi

missing=()
for pkg in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    echo "Installing system packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "WARNING: missing system packages: ${missing[*]} (install them as root: apt-get install ${missing[*]})" >&2
  fi
fi

PYTHON="${PYTHON:-python3}"
if [[ ! -x .venv/bin/python ]]; then
  "$PYTHON" -m venv .venv
fi
stamp=".venv/.installed-$MODE"
if [[ ! -f "$stamp" || pyproject.toml -nt "$stamp" ]]; then
  .venv/bin/python -m pip install -q --upgrade pip
  if [[ "$MODE" == "test" ]]; then
    .venv/bin/python -m pip install -q -e ".[test]"
  else
    .venv/bin/python -m pip install -q -e .
  fi
  touch "$stamp"
fi
