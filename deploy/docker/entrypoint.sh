#!/bin/sh
# The image's entry point (the Dockerfile's ENTRYPOINT, installed as
# eventcrm-entrypoint). It runs the same way outside a container, which is how
# tests/deploy/test_entrypoint.py exercises it.
#
#   serve [OPTIONS]    the API on $HOST:$PORT (0.0.0.0:8000), $WEB_CONCURRENCY
#                      server processes (1); OPTIONS go to `eventcrm serve`   (default)
#   worker [OPTIONS]   the delivery worker (`eventcrm worker`)
#   migrate [REV]      apply the migrations (to REV, default head) and exit
#   healthcheck        exit 0 when http://127.0.0.1:$PORT/health/ready answers 2xx
#   anything else      handed to the eventcrm CLI: `keys create --role admin`, `db current`
set -eu

port="${PORT:-8000}"
command="${1:-serve}"
[ "$#" -gt 0 ] && shift

case "$command" in
serve)
    exec eventcrm serve --host "${HOST:-0.0.0.0}" --port "$port" \
        --workers "${WEB_CONCURRENCY:-1}" "$@"
    ;;
worker)
    exec eventcrm worker "$@"
    ;;
migrate)
    exec eventcrm db upgrade "$@"
    ;;
healthcheck)
    # No curl in a slim image: the interpreter the app runs on asks instead. urlopen
    # raises on anything but 2xx (503 while the database is unreachable).
    exec python -c '
import sys, urllib.request
urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/health/ready", timeout=4)
' "$port"
    ;;
*)
    exec eventcrm "$command" "$@"
    ;;
esac
