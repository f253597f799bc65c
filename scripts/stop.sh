#!/usr/bin/env bash
# Stop the demo's services started by `make demo` and its nginx file services, then remove
# what stopped or crashed innerspace services left on a Docker Swarm, if this engine is a
# Swarm manager (`innerspace swarm clean`: running services and jobs a stopped service left
# running are kept). The Docker engine and the OCI registry keep running.
set -u
cd "$(dirname "$0")/.."
quiet=${1:-}
stopped=0
for pidfile in .run/service.pid .run/service-*.pid; do
    [ -f "$pidfile" ] || continue
    pid=$(cat "$pidfile")
    if kill -0 "$pid" 2>/dev/null; then
        kill "$pid"
        for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        [ -z "$quiet" ] && echo "stopped the innerspace service $(basename "$pidfile" .pid) (pid $pid)"
        stopped=1
    fi
    rm -f "$pidfile"
done
for centre in north south; do
    docker rm -f "innerspace-demo-files-$centre" >/dev/null 2>&1 || true
done
[ "$stopped" = 0 ] && [ -z "$quiet" ] && echo "no innerspace demo service was running"
if [ -x .venv/bin/innerspace ]; then
    if [ -z "$quiet" ]; then
        .venv/bin/innerspace swarm clean --quiet || echo "innerspace swarm clean failed" >&2
    else
        .venv/bin/innerspace swarm clean --quiet >/dev/null 2>&1 || true
    fi
fi
exit 0
