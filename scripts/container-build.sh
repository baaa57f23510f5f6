#!/usr/bin/env bash
# The Dockerfile's build steps as one script, so a test can run them outside Docker
# (a broken step fails CI even where no Docker engine runs).
#
#   scripts/container-build.sh system   Debian packages (Chromium + Nanum font for PDF charts),
#                                       the non-root user (when CREATE_USER=1)
#   scripts/container-build.sh deps     virtualenv at $APP_VENV with requirements.lock (next to
#                                       this script, or in the project) installed, so the image's
#                                       dependency layer is reused when only the source changes
#   scripts/container-build.sh python   virtualenv at $APP_VENV with the project installed
#                                       (from $WHEELHOUSE with --no-index when given)
#   scripts/container-build.sh check    smoke check of the installed app (imports, assets,
#                                       templates, migrations, CLI, gunicorn config)
#
# Environment: APP_VENV (default /opt/venv), WHEELHOUSE (optional), APP_USER (default app),
# APP_HOME (default /app), CREATE_USER (1 in the Dockerfile), SKIP_APT (1: never apt-get).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
SRC="$(cd "$HERE/.." && pwd)"
APP_VENV="${APP_VENV:-/opt/venv}"
APP_USER="${APP_USER:-app}"
APP_HOME="${APP_HOME:-/app}"
PYTHON="${PYTHON:-python3}"
RUNTIME_PACKAGES=(chromium fonts-nanum ca-certificates curl)

step_system() {
  local missing=()
  for pkg in "${RUNTIME_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if ((${#missing[@]})); then
    if [[ "${SKIP_APT:-0}" == 1 ]]; then
      echo "container-build: missing ${missing[*]} (SKIP_APT=1)" >&2
      exit 1
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
    rm -rf /var/lib/apt/lists/*
  else
    echo "container-build: system packages present: ${RUNTIME_PACKAGES[*]}"
  fi
  if [[ "${CREATE_USER:-0}" == 1 ]] && ! id -u "$APP_USER" >/dev/null 2>&1; then
    groupadd --system "$APP_USER"
    useradd --system --gid "$APP_USER" --home-dir "$APP_HOME" --shell /usr/sbin/nologin "$APP_USER"
    install -d -o "$APP_USER" -g "$APP_USER" "$APP_HOME" "$APP_HOME/var"
  fi
}

make_venv() {
  [[ -x "$APP_VENV/bin/python" ]] || "$PYTHON" -m venv "$APP_VENV"
}

step_deps() {
  local lock="$HERE/requirements.lock"
  [[ -f "$lock" ]] || lock="$SRC/requirements.lock"
  make_venv
  "$APP_VENV/bin/python" -m pip --disable-pip-version-check install -q --no-cache-dir -r "$lock"
}

step_python() {
  make_venv
  local pip=("$APP_VENV/bin/python" -m pip --disable-pip-version-check)
  if [[ -n "${WHEELHOUSE:-}" ]]; then
    # Air-gapped: only what the wheelhouse holds (the locked set and the project wheel).
    "${pip[@]}" install -q --no-index --find-links "$WHEELHOUSE" admin-metrics-history
  else
    local constraints=()
    [[ -f "$SRC/requirements.lock" ]] && constraints=(-c "$SRC/requirements.lock")
    "${pip[@]}" install -q --no-cache-dir "${constraints[@]}" "$SRC"
  fi
}

step_check() {
  local py="$APP_VENV/bin/python"
  # Run from a neutral folder so the installed package is checked, not the source tree.
  (cd / && "$py" - <<'PY'
from pathlib import Path

import dashboard
import migrations
from dashboard.app import ASSETS_DIR

assert (ASSETS_DIR / "bootstrap.min.css").is_file(), f"assets missing in {ASSETS_DIR}"
templates = Path(dashboard.__file__).parent / "templates" / "login.html"
assert templates.is_file(), "templates missing"
versions = Path(migrations.__file__).parent / "versions"
assert any(versions.glob("2025*_*.py")), "migrations missing"
assert (Path(migrations.__file__).parent / "env.py").is_file(), "migrations/env.py missing"
print(f"container-build: package data ok (assets at {ASSETS_DIR})")
PY
  )
  "$APP_VENV/bin/admin-metrics" --help >/dev/null
  "$APP_VENV/bin/gunicorn" --version >/dev/null
  # gunicorn.conf.py loads and the app factory builds from the installed packages
  # (throw-away SQLite folder, no scheduler).
  local scratch
  scratch="$(mktemp -d)"
  (cd "$scratch" && env SECRET_KEY=container-build-check-key DATA_DIR="$scratch" \
    METRICS_COLLECTION_ENABLED=false DATABASE_URL= \
    "$APP_VENV/bin/gunicorn" --check-config -c "$SRC/gunicorn.conf.py")
  rm -rf "$scratch"
  echo "container-build: ok"
}

case "${1:-all}" in
  system) step_system ;;
  deps) step_deps ;;
  python) step_python ;;
  check) step_check ;;
  all) step_system; step_python; step_check ;;
  *) echo "usage: $0 system|deps|python|check|all" >&2; exit 2 ;;
esac
