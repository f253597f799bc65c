#!/usr/bin/env bash
# The demo: start the service in the background, build the example apps, run a hello job and
# a fits-stats job on a generated FITS image, and show their phases and results.
set -euo pipefail
cd "$(dirname "$0")/.."
RUN="$(pwd)/.run"
URL=${INNERSPACE_URL:-http://127.0.0.1:8000}
export INNERSPACE_URL=$URL
# The service runs apps from the local OCI registry that set-up started.
export INNERSPACE_REPOSITORY__URL=${INNERSPACE_REPOSITORY__URL:-http://127.0.0.1:5000}
IS=.venv/bin/innerspace
say() { printf '\n\033[1m==>\033[0m %s\n' "$*"; }

bash scripts/stop.sh --quiet
say "starting the innerspace service on $URL (log: $RUN/service.log)"
setsid $IS serve --config examples/demo.toml --host 127.0.0.1 --port "${URL##*:}" \
    >"$RUN/service.log" 2>&1 < /dev/null &
echo $! > "$RUN/service.pid"
for _ in $(seq 1 60); do
    curl -fsS "$URL/availability" >/dev/null 2>&1 && break
    sleep 0.5
done
curl -fsS "$URL/availability" >/dev/null || { tail -30 "$RUN/service.log"; exit 1; }

say "publishing the example apps to the repository $INNERSPACE_REPOSITORY__URL"
for app in hello fits-stats xmatch; do
    $IS app publish "examples/apps/$app"
done
say "the service's catalogue, read from the registry"
$IS app list --refresh

say "running hello"
$IS submit hello -p name=Astronomer -p delay=1 --wait | tee "$RUN/hello.out"
HELLO=$(sed -n 's/^submitted job \([a-z0-9]\{16\}\).*/\1/p' "$RUN/hello.out")

say "making a FITS image (synthetic: a star field with noise and a WCS) at $RUN/demo.fits"
.venv/bin/python scripts/make_demo_fits.py "$RUN/demo.fits"

say "running fits-stats on it"
$IS submit fits-stats --file image="$RUN/demo.fits" --wait | tee "$RUN/fits.out"
FITS=$(sed -n 's/^submitted job \([a-z0-9]\{16\}\).*/\1/p' "$RUN/fits.out")

say "making two catalogues (synthetic: sources near M31, re-measured with 0.3\" errors)"
.venv/bin/python scripts/make_demo_catalogues.py "$RUN/primary.vot" "$RUN/secondary.fits"

say "running xmatch on them (radius 1 arcsec)"
$IS submit xmatch --file primary="$RUN/primary.vot" --file secondary="$RUN/secondary.fits" \
    -p radius=1.0 --wait | tee "$RUN/xmatch.out"
XMATCH=$(sed -n 's/^submitted job \([a-z0-9]\{16\}\).*/\1/p' "$RUN/xmatch.out")

say "results"
$IS results "$HELLO" --out "results/$HELLO"
echo "greeting.txt: $(cat "results/$HELLO/greeting.txt")"
$IS results "$FITS" --out "results/$FITS"
cat "results/$FITS/stats.json"
$IS results "$XMATCH" --out "results/$XMATCH"
cat "results/$XMATCH/summary.json"

say "the registry: OAI-PMH at $URL/registry/oai, RegTAP at $URL/registry/tap; pyvo finds"
curl -fsS -X POST "$URL/registry/refresh" >/dev/null
.venv/bin/python scripts/demo_registry.py "$URL"

say "the job list"
$IS jobs --last 5

say "the service keeps running on $URL (UWS job list at $URL/jobs, apps at $URL/apps)."
echo "    stop it with:  make stop   (the registry on 127.0.0.1:5000 and dockerd keep running)"
