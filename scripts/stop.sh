#!/usr/bin/env bash
# Stop the demo service started by `make demo` (the Docker engine keeps running).
set -u
cd "$(dirname "$0")/.."
PIDFILE=.run/service.pid
quiet=${1:-}
if [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
    kill "$(cat "$PIDFILE")"
    for _ in $(seq 1 50); do kill -0 "$(cat "$PIDFILE")" 2>/dev/null || break; sleep 0.1; done
    [ -z "$quiet" ] && echo "stopped the innerspace service (pid $(cat "$PIDFILE"))"
    rm -f "$PIDFILE"
else
    [ -z "$quiet" ] && echo "the innerspace service is not running"
    rm -f "$PIDFILE"
fi
exit 0
