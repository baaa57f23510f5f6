#!/bin/sh
# Container entrypoint.
#   entrypoint.sh              apply migrations, then serve with gunicorn (the default)
#   entrypoint.sh migrate      apply migrations only (e.g. a one-off job before a rollout)
#   entrypoint.sh serve-only   serve without migrating (replicas after a migrate job)
#   entrypoint.sh healthcheck  exit 0 when /healthz answers 200 (Docker HEALTHCHECK)
#   entrypoint.sh CMD ...      run anything else, e.g. `admin-metrics create-admin alice`
# gunicorn is exec'd, so it receives SIGTERM directly: workers finish in-flight requests,
# stop the scheduler and the chart renderer, then exit. No --preload (see gunicorn.conf.py).
set -eu
HERE="$(cd "$(dirname "$0")" && pwd)"
GUNICORN_CONF="${GUNICORN_CONF:-$HERE/../gunicorn.conf.py}"

migrate() {
  # The database may still be starting (compose waits for its healthcheck; others may not).
  attempts="${MIGRATE_ATTEMPTS:-30}"
  n=1
  until admin-metrics db upgrade; do
    if [ "$n" -ge "$attempts" ]; then
      echo "entrypoint: migrations failed after $n attempts" >&2
      return 1
    fi
    echo "entrypoint: database not ready, retrying in 2 s ($n/$attempts)" >&2
    n=$((n + 1))
    sleep 2
  done
}

serve() {
  exec gunicorn -c "$GUNICORN_CONF"
}

healthcheck() {
  bind="${WEB_BIND:-127.0.0.1:8050}"
  port="${bind##*:}"
  prefix="/${URL_PREFIX:-/}"
  prefix="$(printf '%s' "$prefix" | sed 's#//*#/#g; s#/*$#/#')"
  exec curl -fsS -o /dev/null --max-time 5 "http://127.0.0.1:${port}${prefix}healthz"
}

case "${1:-serve}" in
  serve) migrate; serve ;;
  migrate) migrate ;;
  serve-only) serve ;;
  healthcheck) healthcheck ;;
  *) exec "$@" ;;
esac
