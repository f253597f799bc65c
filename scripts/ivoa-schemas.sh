#!/usr/bin/env bash
# The IVOA XML schemas the tests validate innerspace's documents against (UWS, VOResource,
# VODataService, VORegistry, RegistryInterface, TAPRegExt, VOSI, OAI-PMH, oai_dc, xlink, STC),
# taken from a maintained package: Debian's python3-gavo (DaCHS) ships them under
# gavo/resources/schemata. The package is downloaded (`apt-get download`, into .run/) and
# unpacked (`dpkg -x`) without being installed, so none of its dependencies come along; its
# schemas are kept in .run/ivoa-schemas/<package version>/ with an XML catalog generated from
# them (scripts/schema_catalog.py), and .run/ivoa-schemas/current points at that folder.
#
# Idempotent: a version already unpacked is not fetched again (only its catalog is written
# anew). Without apt's package lists (or offline) an unpacked version is used as it is.
# Prints nothing but `==>` lines; exits non-zero saying why when there are no schemas.
set -euo pipefail
cd "$(dirname "$0")/.."
PACKAGE=python3-gavo
CACHE=.run/ivoa-schemas
PYTHON=${PYTHON:-python3}

say() { printf '\033[1m==>\033[0m %s\n' "$*"; }
die() { printf '\033[1;31merror:\033[0m %s\n' "$*" >&2; exit 1; }
candidate() {
    apt-cache show --no-all-versions "$PACKAGE" 2>/dev/null | awk '/^Version:/ { print $2; exit }'
}

mkdir -p "$CACHE"
command -v apt-get >/dev/null 2>&1 && command -v dpkg >/dev/null 2>&1 \
    || [ -f "$CACHE/current/catalog.xml" ] \
    || die "the IVOA schemas come from Debian's $PACKAGE: apt-get and dpkg are needed"
version=$(candidate || true)
if [ -z "$version" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
        && [ ! -f "$CACHE/current/catalog.xml" ]; then
    say "apt-get update (to find $PACKAGE)"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null 2>&1 || true
    version=$(candidate || true)
fi
if [ -z "$version" ]; then
    [ -f "$CACHE/current/catalog.xml" ] \
        || die "apt knows no $PACKAGE (run apt-get update as root, or \`make setup\`)"
    say "IVOA schemas: keeping $(readlink "$CACHE/current") (apt knows no $PACKAGE now)"
    exit 0
fi

folder="$CACHE/${version//:/_}"
if [ ! -f "$folder/UWS.xsd" ]; then
    work=$(mktemp -d "$CACHE/.fetch.XXXXXX")
    trap 'rm -rf "$work"' EXIT
    say "IVOA schemas: apt-get download $PACKAGE=$version, dpkg -x into $folder"
    # As root, apt downloads as its sandbox user, who may not write here: a warning only.
    (cd "$work" && apt-get download -q "$PACKAGE=$version" >download.log 2>&1) \
        || { tail -5 "$work/download.log" >&2; die "apt-get download $PACKAGE failed"; }
    mv "$work"/*.deb .run/ 2>/dev/null || true
    deb=$(ls .run/"${PACKAGE}_${version#*:}"_*.deb 2>/dev/null | head -1)
    [ -n "$deb" ] || die "apt-get download left no ${PACKAGE}_${version#*:}_*.deb in .run/"
    dpkg -x "$deb" "$work/root"
    schemata=$(find "$work/root" -type d -path '*/gavo/resources/schemata' | head -1)
    [ -n "$schemata" ] && [ -f "$schemata/UWS.xsd" ] \
        || die "$deb holds no gavo/resources/schemata/UWS.xsd"
    rm -rf "$folder.new"
    mkdir -p "$folder.new"
    find "$schemata" -maxdepth 1 -type f \( -name '*.xsd' -o -name '*.dtd' \) \
        -exec cp {} "$folder.new"/ \;
    rm -rf "$folder"
    mv "$folder.new" "$folder"
    rm -f "$deb"
else
    say "IVOA schemas: $PACKAGE $version is unpacked in $folder"
fi
"$PYTHON" scripts/schema_catalog.py "$folder"
ln -sfn "$(basename "$folder")" "$CACHE/current"
