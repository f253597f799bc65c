#!/usr/bin/env bash
# The demo: two data centres on this machine (North on :8000, South on :8001), each with its own
# execution service, inner network, nginx file service and data collection; the example apps
# published to the local OCI registry; a job of each app; and the same app run at each data
# centre on its own data, the client choosing by the collection asked for.
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
CENTRES="$RUN/centres"
say "the two data centres' data: OpenNGC objects of each hemisphere (real), and an image
    collection each (synthetic star fields), under $CENTRES"
.venv/bin/python scripts/make_demo_centres.py "$CENTRES"

say "an nginx file service on each data centre's inner network"
docker build -q -t innerspace/demo-nginx:1 examples/services/nginx >/dev/null
for centre in north south; do
    docker network inspect "innerspace-$centre" >/dev/null 2>&1 \
        || docker network create --internal "innerspace-$centre" >/dev/null
    docker rm -f "innerspace-demo-files-$centre" >/dev/null 2>&1 || true
    docker run -d --name "innerspace-demo-files-$centre" --network "innerspace-$centre" \
        --network-alias "files.$centre" --read-only --tmpfs /tmp --cap-drop ALL \
        -v "$CENTRES/$centre/files:/srv:ro" innerspace/demo-nginx:1 >/dev/null
    echo "    files.$centre on innerspace-$centre"
done

start_service() {  # name config port data-dir
    say "starting the $1 data centre's service on http://127.0.0.1:$3 (log: $RUN/service-$1.log)"
    setsid $IS serve --config "$2" --host 127.0.0.1 --port "$3" ${4:+--data-dir "$4"} \
        >"$RUN/service-$1.log" 2>&1 < /dev/null &
    echo $! > "$RUN/service-$1.pid"
    for _ in $(seq 1 60); do
        curl -fsS "http://127.0.0.1:$3/availability" >/dev/null 2>&1 && return 0
        sleep 0.5
    done
    tail -30 "$RUN/service-$1.log"
    exit 1
}
start_service north "$CENTRES/north.toml" "${URL##*:}"
start_service south "$CENTRES/south.toml" 8001 "$RUN/south-data"

say "publishing the example apps to the repository $INNERSPACE_REPOSITORY__URL"
for app in hello fits-stats xmatch survey-summary; do
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

say "the registry: North harvests South; pyvo on North's RegTAP ($URL/registry/tap) finds"
curl -fsS -X POST http://127.0.0.1:8001/apps/refresh >/dev/null
curl -fsS -X POST http://127.0.0.1:8001/registry/refresh >/dev/null
curl -fsS -X POST "$URL/registry/harvest" >/dev/null
.venv/bin/python scripts/demo_registry.py "$URL"

say "the same app, survey-summary, at the data centre holding the collection asked for"
for sky in north-sky south-sky; do
    $IS plan survey-summary -p collection=$sky --collection $sky --registry "$URL"
    $IS run survey-summary -p collection=$sky --collection $sky --registry "$URL" \
        --out results | tee "$RUN/run-$sky.out"
    RESULT=$(sed -n 's#^\(.*/[a-z0-9]\{16\}\)/summary.json .*#\1#p' "$RUN/run-$sky.out")
    .venv/bin/python -c "import json,sys; s=json.load(open(sys.argv[1])); c=s['catalogue']; \
print(f\"    {s['collection']}: {len(s['images'])} images; {c['objects']} catalogue objects, \
dec {c['dec_range'][0]:.1f} to {c['dec_range'][1]:.1f} (from {c['source']})\")" "$RESULT/summary.json"
done

say "the job list"
$IS jobs --last 5

say "the service keeps running on $URL: open it in a browser for the portal (UWS job list at $URL/jobs, apps at $URL/apps)."
echo "    South runs on http://127.0.0.1:8001."
echo "    stop both with:  make stop   (the registry on 127.0.0.1:5000 and dockerd keep running)"
