#!/usr/bin/env bash
# Development server with its delivery worker and outbox sweeper; Ctrl-C stops all three.
set -euo pipefail
PY=${PY:-.venv/bin/python}
HOST=${HOST:-127.0.0.1}
PORT=${PORT:-8000}

case "$HOST" in
    0.0.0.0 | "::" | "[::]") SHOWN_HOST=localhost ;;
    *) SHOWN_HOST=$HOST ;;
esac
BASE="http://$SHOWN_HOST:$PORT"

# Refuse early, before starting the worker, when the port is taken: runserver's own
# error scrolls away under the worker's output.
if ! "$PY" - "$HOST" "$PORT" "$BASE" <<'PY'
import json
import socket
import sys
import urllib.request

host, port, base = sys.argv[1], int(sys.argv[2]), sys.argv[3]
family = socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET
probe = socket.socket(family, socket.SOCK_STREAM)
probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    probe.bind((host.strip("[]"), port))
except OSError as err:
    try:
        with urllib.request.urlopen(f"{base}/healthz", timeout=2) as answer:  # noqa: S310
            ours = json.load(answer).get("status") == "ok"
    except (OSError, ValueError):
        ours = False
    if ours:
        print(f"\n  Masked numbers is already running at {base}/admin/ (another `make run`?).")
        print(f"  Use that one, stop it first, or pick another port: make run PORT={port + 1}\n")
    else:
        print(f"\n  Port {port} on {host} is in use ({err.strerror}).")
        print(f"  Stop whatever listens there, or pick another port: make run PORT={port + 1}\n")
    sys.exit(1)
finally:
    probe.close()
PY
then
    exit 1
fi

pids=()
cleanup() {
    trap - EXIT INT TERM
    kill "${pids[@]}" 2>/dev/null || true
    wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"$PY" manage.py db_worker --interval 0.5 --no-reload &
pids+=($!)
"$PY" manage.py outbox_sweep --loop --interval 15 &
pids+=($!)
"$PY" manage.py runserver "$HOST:$PORT" --noreload &
server=$!
pids+=("$server")

# The banner comes once the server answers, so it is the last thing on the screen.
for _ in $(seq 100); do
    kill -0 "$server" 2>/dev/null || { wait "$server"; exit $?; }
    "$PY" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)' \
        "$BASE/healthz" 2>/dev/null && break
    sleep 0.2
done

if [ -n "${DATABASE_URL:-}" ]; then database="DATABASE_URL"; else database="SQLite"; fi
cat <<MSG

  Masked numbers is running (console provider, $database). Ctrl-C stops it.
    Admin:      $BASE/admin/
    Simulator:  $BASE/simulator/
    API docs:   $BASE/api/docs/
$("$PY" manage.py demo_login 2>/dev/null || echo "    Login:      run: $PY manage.py createsuperuser")

MSG
wait "$server"
