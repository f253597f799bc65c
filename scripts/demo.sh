#!/usr/bin/env bash
# The demo: start the service in the background, build the example apps, run a hello job and
# a fits-stats job on a generated FITS image, and show their phases and results.
set -euo pipefail
cd "$(dirname "$0")/.."
RUN="$(pwd)/.run"
URL=${INNERSPACE_URL:-http://127.0.0.1:8000}
export INNERSPACE_URL=$URL
IS=.venv/bin/innerspace
say() { printf '\n\033[1m==>\033[0m %s\n' "$*"; }

bash scripts/stop.sh --quiet
say "starting the innerspace service on $URL (log: $RUN/service.log)"
setsid $IS serve --host 127.0.0.1 --port "${URL##*:}" >"$RUN/service.log" 2>&1 < /dev/null &
echo $! > "$RUN/service.pid"
for _ in $(seq 1 60); do
    curl -fsS "$URL/availability" >/dev/null 2>&1 && break
    sleep 0.5
done
curl -fsS "$URL/availability" >/dev/null || { tail -30 "$RUN/service.log"; exit 1; }

say "building the example apps"
$IS app build examples/apps/hello
$IS app build examples/apps/fits-stats
$IS app list

say "running hello"
$IS submit hello -p name=Astronomer -p delay=1 --wait | tee "$RUN/hello.out"
HELLO=$(sed -n 's/^submitted job \([a-z0-9]\{16\}\).*/\1/p' "$RUN/hello.out")

say "making a FITS image (synthetic: a star field with noise and a WCS) at $RUN/demo.fits"
.venv/bin/python scripts/make_demo_fits.py "$RUN/demo.fits"

say "running fits-stats on it"
$IS submit fits-stats --file image="$RUN/demo.fits" --wait | tee "$RUN/fits.out"
FITS=$(sed -n 's/^submitted job \([a-z0-9]\{16\}\).*/\1/p' "$RUN/fits.out")

say "results"
$IS results "$HELLO" --out "results/$HELLO"
echo "greeting.txt: $(cat "results/$HELLO/greeting.txt")"
$IS results "$FITS" --out "results/$FITS"
cat "results/$FITS/stats.json"

say "the job list"
$IS jobs --last 5

say "the service keeps running on $URL (UWS job list at $URL/jobs)."
echo "    stop it with:  make stop"
