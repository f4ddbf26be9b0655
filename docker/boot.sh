#!/bin/sh
# Apply migrations, then hand the process over to gunicorn (PID 1 receives the signals).
set -e
flask --app wsgi db upgrade
exec gunicorn --worker-class gthread --workers "${GUNICORN_WORKERS}" --threads "${GUNICORN_THREADS}" \
    --bind "0.0.0.0:${PORT}" --access-logfile - --forwarded-allow-ips "${FORWARDED_ALLOW_IPS:-127.0.0.1}" wsgi:app
