#!/bin/sh
# Container start: bring the schema up to date, delete expired rows (`flask cleanup`; the
# README says how to run it daily too), then serve. gunicorn replaces this shell (exec),
# so it receives `docker stop`'s SIGTERM and finishes the requests in flight.
# WEB_CONCURRENCY sets the worker count, PORT the port (both in the Dockerfile).
set -eu
flask --app wsgi db upgrade
flask --app wsgi cleanup
exec gunicorn wsgi:app \
    --bind "0.0.0.0:${PORT:-8000}" \
    --workers "${WEB_CONCURRENCY:-2}" \
    --worker-tmp-dir /dev/shm \
    --forwarded-allow-ips "${FORWARDED_ALLOW_IPS:-127.0.0.1}" \
    --access-logfile -
