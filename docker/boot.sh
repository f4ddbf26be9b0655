#!/bin/sh
# Apply migrations, then hand the process over to gunicorn (PID 1 receives the signals).
set -e
# Files this process creates (the SQLite database, its WAL) are its own alone.
umask 077
# Prometheus multiprocess mode: every worker writes its samples here; start from an empty directory.
export PROMETHEUS_MULTIPROC_DIR="${PROMETHEUS_MULTIPROC_DIR:-/tmp/agentdesk-metrics}"
rm -rf "$PROMETHEUS_MULTIPROC_DIR" && mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
flask --app wsgi db upgrade
# Several workers count rate limits and fan out Socket.IO through Redis; without one, a single worker.
case "${RATELIMIT_STORAGE_URI:-memory://}" in
  redis*) export GUNICORN_WORKERS="${GUNICORN_WORKERS:-2}" ;;
  *) export GUNICORN_WORKERS=1 ;;
esac
exec gunicorn --config gunicorn.conf.py --bind "0.0.0.0:${PORT}" --access-logfile - \
    --forwarded-allow-ips "${FORWARDED_ALLOW_IPS:-127.0.0.1}" wsgi:app
