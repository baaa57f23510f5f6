#!/usr/bin/env bash
# Build a wheelhouse for an air-gapped install (run on a machine with package access):
#
#   scripts/build-wheelhouse.sh [DIR]      (default DIR: wheelhouse/)
#       pip download of exactly the versions in requirements.lock (binary wheels for this
#       platform and Python) plus the project's own wheel, and a checksum list.
#   scripts/build-wheelhouse.sh --lock
#       regenerate requirements.lock from the runtime dependencies installed in .venv
#       (the project's requirement tree only; test tools are not part of it).
#
# On the air-gapped machine (same OS/CPU and Python minor version):
#   python3 -m venv /opt/admin-metrics
#   /opt/admin-metrics/bin/pip install --no-index --find-links DIR admin-metrics-history
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-.venv/bin/python}"

lock() {
  "$PYTHON" - <<'PY' > requirements.lock
"""Pin the runtime requirement tree of admin-metrics-history as installed in this venv."""
from importlib.metadata import distribution
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

root = "admin-metrics-history"
seen: dict[str, str] = {}
todo = [(root, frozenset())]
while todo:
    name, extras = todo.pop()
    dist = distribution(name)
    key = canonicalize_name(dist.metadata["Name"])
    if key != canonicalize_name(root):
        seen[key] = dist.version
    for spec in dist.requires or []:
        req = Requirement(spec)
        envs = [{"extra": e} for e in extras] or [{"extra": ""}]
        if req.marker is not None and not any(req.marker.evaluate(env) for env in envs):
            continue
        todo.append((req.name, frozenset(req.extras)))
print("# Exact runtime set of admin-metrics-history (scripts/build-wheelhouse.sh --lock).")
print("# Used by the wheelhouse build and as constraints by the container build.")
for key in sorted(seen):
    print(f"{key}=={seen[key]}")
PY
  echo "requirements.lock: $(grep -c '==' requirements.lock) packages"
}

build() {
  local dir="$1"
  mkdir -p "$dir"
  # The exact locked set, as binary wheels for this platform and Python ...
  "$PYTHON" -m pip download --disable-pip-version-check -q --only-binary=:all: \
    --no-deps -r requirements.lock -d "$dir"
  # ... then the project's wheel, resolved against the lock: a dependency added to
  # pyproject.toml after the last --lock is fetched too instead of breaking the install.
  "$PYTHON" -m pip wheel --disable-pip-version-check -q -c requirements.lock \
    --find-links "$dir" -w "$dir" .
  (cd "$dir" && sha256sum ./*.whl > SHA256SUMS)
  echo "wheelhouse: $(ls "$dir"/*.whl | wc -l) wheels in $dir"
}

case "${1:-wheelhouse}" in
  --lock) lock ;;
  -h|--help) sed -n '2,15p' "$0" ;;
  *) build "${1:-wheelhouse}" ;;
esac
