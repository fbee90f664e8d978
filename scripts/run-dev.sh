#!/usr/bin/env bash
# Development server with its delivery worker and outbox sweeper; Ctrl-C stops all three.
set -euo pipefail
PY=${PY:-.venv/bin/python}
HOST=${HOST:-127.0.0.1}
PORT=${PORT:-8000}

"$PY" manage.py delivery_worker --interval 0.5 --no-reload &
worker=$!
"$PY" manage.py outbox_sweep --loop --interval 15 &
sweeper=$!
trap 'kill $worker $sweeper 2>/dev/null || true' EXIT INT TERM

cat <<MSG

  Masked numbers is running (console provider, SQLite).
    Admin:      http://$HOST:$PORT/admin/
    Simulator:  http://$HOST:$PORT/simulator/
    API docs:   http://$HOST:$PORT/api/docs/
$("$PY" manage.py demo_login 2>/dev/null || true)

MSG
"$PY" manage.py runserver "$HOST:$PORT" --noreload
