#!/usr/bin/env bash
# Set up everything innerspace needs on this machine, idempotently, saying what it does:
# the Python environment (.venv, from the hashed lock file), a running Docker engine, the OCI
# registry, the Python base image built from Debian packages, and the IVOA schemas the tests
# validate against (from Debian's python3-gavo, unpacked without installing it).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
RUN="$ROOT/.run"
mkdir -p "$RUN"

say() { printf '\033[1m==>\033[0m %s\n' "$*"; }
die() { printf '\033[1;31merror:\033[0m %s\n' "$*" >&2; exit 1; }
is_root() { [ "$(id -u)" = 0 ]; }
have_apt() { command -v apt-get >/dev/null 2>&1; }
APT_UPDATED=""
apt_install() {
    is_root && have_apt || die "$* is missing; install it (needs root and apt-get here)"
    if [ -z "$APT_UPDATED" ]; then
        say "apt-get update"
        DEBIAN_FRONTEND=noninteractive apt-get update -qq
        APT_UPDATED=1
    fi
    say "apt-get install $*"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >"$RUN/apt.log" 2>&1 \
        || { tail -20 "$RUN/apt.log"; die "apt-get install $* failed"; }
}

# 1. Python environment -------------------------------------------------------------------
PYTHON=${PYTHON:-python3}
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
    || die "Python >= 3.11 is needed ($PYTHON is $("$PYTHON" --version 2>&1))"
stamp=$(cat requirements.lock pyproject.toml | sha256sum | cut -d' ' -f1)
if [ ! -x .venv/bin/python ] || [ "$(cat .venv/.innerspace-stamp 2>/dev/null)" != "$stamp" ]; then
    if [ ! -x .venv/bin/python ]; then
        "$PYTHON" -m venv .venv 2>/dev/null || { apt_install python3-venv; "$PYTHON" -m venv .venv; }
        say "created the virtual environment .venv"
    fi
    say "installing the locked Python dependencies into .venv"
    # Some machines' pip configuration names local indexes that may be absent: drop that noise.
    quiet_pip() { .venv/bin/python -m pip "$@" 2> >(grep -v 'is ignored: it is neither' >&2); }
    quiet_pip install -q --upgrade pip
    quiet_pip install -q --require-hashes -r requirements.lock
    # The service with PostgreSQL and the dev tools: the lock holds exactly these extras.
    quiet_pip install -q --no-deps --no-build-isolation -e ".[server,postgres,dev]" 2>/dev/null \
        || quiet_pip install -q --no-deps -e ".[server,postgres,dev]"
    echo "$stamp" > .venv/.innerspace-stamp
else
    say "Python environment .venv is up to date"
fi

# 2. Docker engine ------------------------------------------------------------------------
if docker info >/dev/null 2>&1; then
    say "Docker engine is running ($(docker info --format '{{.ServerVersion}}' 2>/dev/null))"
else
    if ! command -v dockerd >/dev/null 2>&1; then
        apt_install docker.io
    fi
    is_root || die "the Docker engine is not running and only root can start it here"
    say "starting dockerd in the background (log: $RUN/dockerd.log)"
    # --no-new-privileges: the Swarm engine cannot ask for it per service on Docker 20.10.
    setsid dockerd --no-new-privileges >"$RUN/dockerd.log" 2>&1 < /dev/null &
    for _ in $(seq 1 60); do
        docker info >/dev/null 2>&1 && break
        sleep 1
    done
    docker info >/dev/null 2>&1 || { tail -20 "$RUN/dockerd.log"; die "dockerd did not start"; }
    say "Docker engine is running ($(docker info --format '{{.ServerVersion}}'))"
fi

# 3. OCI registry of app images ---------------------------------------------------------
REGISTRY=${INNERSPACE_SETUP_REGISTRY:-127.0.0.1:5000}
if ! command -v docker-registry >/dev/null 2>&1; then
    apt_install docker-registry
    # Debian enables its own registry service (with htpasswd auth) on :5000 under systemd.
    if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet docker-registry 2>/dev/null; then
        say "stopping Debian's own docker-registry service (innerspace runs its own)"
        systemctl disable --now docker-registry >/dev/null 2>&1 || true
    fi
fi
code=$(curl -s -o /dev/null -w '%{http_code}' "http://$REGISTRY/v2/" || true)
if [ "$code" = 200 ]; then
    say "OCI registry is running on $REGISTRY"
elif [ "$code" != 000 ]; then
    die "something else answers on $REGISTRY (HTTP $code), e.g. Debian's own docker-registry
    service with authentication: stop it (systemctl stop docker-registry) or point
    INNERSPACE_SETUP_REGISTRY at a free address"
else
    say "starting the OCI registry on $REGISTRY (log: $RUN/registry.log)"
    setsid .venv/bin/innerspace repo serve --address "$REGISTRY" >"$RUN/registry.log" 2>&1 < /dev/null &
    for _ in $(seq 1 30); do
        curl -fsS "http://$REGISTRY/v2/" >/dev/null 2>&1 && break
        sleep 0.5
    done
    curl -fsS "http://$REGISTRY/v2/" >/dev/null 2>&1 || { tail -20 "$RUN/registry.log"; die "the registry did not start"; }
fi

# 4. Base image ---------------------------------------------------------------------------
command -v debootstrap >/dev/null 2>&1 || apt_install debootstrap
say "checking the Python base image"
.venv/bin/innerspace base-image

# 5. IVOA schemas for the tests -------------------------------------------------------------
# Debian's python3-gavo, downloaded and unpacked (never installed) into .run/ivoa-schemas,
# with an XML catalog generated from its schemas; see scripts/ivoa-schemas.sh.
bash scripts/ivoa-schemas.sh

# 6. STILTS, for the TAP validator test -----------------------------------------------------
# `stilts taplint` (Debian's package stilts, with its Java runtime) validates the registry's
# TAP service in tests/integration/registry/regtap/test_taplint.py, which is skipped without it.
if command -v stilts >/dev/null 2>&1; then
    say "stilts is installed (taplint)"
else
    apt_install stilts
fi

# 7. Chromium, for the portal's browser tests ---------------------------------------------
# Debian's chromium and chromium-driver (chromedriver, of the same version) run headless
# under selenium in tests/integration/portal (tests/support/browser.py), which skip without
# them. The tests install axe-core, their accessibility checker, from
# tests/support/browser/package-lock.json into .run/browser-modules themselves.
if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
    say "chromium and chromedriver are installed (browser tests)"
else
    apt_install chromium chromium-driver
fi
