#!/usr/bin/env bash
# A second Docker engine on this machine, in its own network namespace, as a Swarm worker
# of the machine's engine: a real two-node swarm for tests, benchmarks and trying the Swarm
# engine out. Idempotent; needs root.
#
#   scripts/swarm-node.sh up      create the namespace and veth pair, start the engine,
#                                 make the host engine a manager (if it is not) and join
#   scripts/swarm-node.sh stop    stop the node's engine (the node goes down; state is kept)
#   scripts/swarm-node.sh start   start it again (it rejoins by itself)
#   scripts/swarm-node.sh down    leave the swarm, stop the engine, remove namespace and veth
#
# Settings (environment): NODE (isnode2), HOST_ADDR (10.251.0.1), NODE_ADDR (10.251.0.2),
# NODE_ROOT (.run/swarm/$NODE, the engine's data and log), NODE_RUN (/run/innerspace/$NODE,
# its sockets: short paths, as a Unix socket path may not exceed 107 bytes).
# The node's Docker socket is $NODE_RUN/docker.sock.
set -euo pipefail
cd "$(dirname "$0")/.."
NODE=${NODE:-isnode2}
HOST_ADDR=${HOST_ADDR:-10.251.0.1}
NODE_ADDR=${NODE_ADDR:-10.251.0.2}
NODE_ROOT=${NODE_ROOT:-$(pwd)/.run/swarm/$NODE}
NODE_RUN=${NODE_RUN:-/run/innerspace/$NODE}
SOCK="$NODE_RUN/docker.sock"
NETNS=/var/run/netns/$NODE
HOST_VETH="${NODE:0:9}h"
NODE_VETH="${NODE:0:9}n"

say() { printf '\033[1m==>\033[0m %s\n' "$*"; }
die() { printf '\033[1;31merror:\033[0m %s\n' "$*" >&2; exit 1; }
node_docker() { DOCKER_HOST="unix://$SOCK" docker "$@"; }
[ "$(id -u)" = 0 ] || die "a second engine in a network namespace needs root"
docker info >/dev/null 2>&1 || die "the host's Docker engine is not running (make setup)"

network_up() {
    [ -e "$NETNS" ] || { say "network namespace $NODE"; ip netns add "$NODE"; }
    if ! ip link show "$HOST_VETH" >/dev/null 2>&1; then
        say "veth pair $HOST_VETH ($HOST_ADDR) <-> $NODE_VETH ($NODE_ADDR)"
        ip link add "$HOST_VETH" type veth peer name "$NODE_VETH"
        ip link set "$NODE_VETH" netns "$NODE"
        ip addr add "$HOST_ADDR/24" dev "$HOST_VETH"
        ip link set "$HOST_VETH" up
        nsenter --net="$NETNS" sh -c "ip addr add $NODE_ADDR/24 dev $NODE_VETH &&
            ip link set $NODE_VETH up && ip link set lo up"
    fi
}

engine_start() {
    if node_docker info >/dev/null 2>&1; then
        say "engine $NODE is running"
        return
    fi
    mkdir -p "$NODE_ROOT/data" "$NODE_RUN/exec"
    say "starting engine $NODE (log: $NODE_ROOT/dockerd.log)"
    # nsenter, not `ip netns exec`: the latter remounts /sys and dockerd then cannot find
    # the devices cgroup. No bridge and no iptables: the node lives on overlay networks.
    nsenter --net="$NETNS" setsid dockerd --data-root "$NODE_ROOT/data" \
        --exec-root "$NODE_RUN/exec" --pidfile "$NODE_RUN/dockerd.pid" -H "unix://$SOCK" \
        --bridge none --iptables=false --no-new-privileges \
        >"$NODE_ROOT/dockerd.log" 2>&1 </dev/null &
    for _ in $(seq 1 60); do
        node_docker info >/dev/null 2>&1 && return
        sleep 0.5
    done
    tail -20 "$NODE_ROOT/dockerd.log"
    die "engine $NODE did not start"
}

engine_stop() {
    local pid
    pid=$(cat "$NODE_RUN/dockerd.pid" 2>/dev/null || true)
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        say "stopping engine $NODE"
        kill "$pid"
        for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.5; done
        kill -9 "$pid" 2>/dev/null || true
    fi
}

swarm_up() {
    if [ "$(docker info -f '{{.Swarm.LocalNodeState}}')" != active ]; then
        say "docker swarm init on the host engine (advertising $HOST_ADDR)"
        docker swarm init --advertise-addr "$HOST_ADDR" >/dev/null
    fi
    [ "$(docker info -f '{{.Swarm.ControlAvailable}}')" = true ] \
        || die "the host engine is in a swarm but not a manager"
    if [ "$(node_docker info -f '{{.Swarm.LocalNodeState}}')" != active ]; then
        say "$NODE joins the swarm"
        node_docker swarm join --advertise-addr "$NODE_ADDR" \
            --token "$(docker swarm join-token -q worker)" "$HOST_ADDR:2377" >/dev/null
    fi
    local id
    id=$(node_docker info -f '{{.Swarm.NodeID}}')
    # Nodes left down by earlier runs of this script would only clutter `docker node ls`.
    for stale in $(docker node ls -q --filter role=worker); do
        [ "$stale" = "$id" ] && continue
        [ "$(docker node inspect -f '{{.Status.State}}' "$stale")" = down ] \
            && docker node rm --force "$stale" >/dev/null && say "removed stale node $stale"
    done
    docker node update --label-add "org.innerspace.node=$NODE" "$id" >/dev/null
    say "node $NODE is $id"
}

case "${1:-up}" in
    up) network_up; engine_start; swarm_up ;;
    start) network_up; engine_start ;;
    stop) engine_stop ;;
    down)
        node_docker swarm leave --force >/dev/null 2>&1 || true
        engine_stop
        ip link del "$HOST_VETH" 2>/dev/null || true
        ip netns del "$NODE" 2>/dev/null || true
        say "node $NODE removed" ;;
    *) die "usage: $0 up|start|stop|down" ;;
esac
