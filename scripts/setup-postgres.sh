#!/usr/bin/env bash
# For the tests: a local PostgreSQL with a database `innerspace_test`, so that the job store
# is tested on PostgreSQL as well as SQLite. Writes the SQLAlchemy URL to .run/postgres-url.
# Idempotent; if PostgreSQL cannot be had here it says so and the PostgreSQL tests skip.
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p .run
rm -f .run/postgres-url
say() { printf '\033[1m==>\033[0m %s\n' "$*"; }
if [ "$(id -u)" != 0 ]; then
    say "not root: skipping the local PostgreSQL (set INNERSPACE_TEST_DATABASE_URL instead)"
    exit 0
fi
if ! command -v pg_ctlcluster >/dev/null 2>&1; then
    say "apt-get install postgresql (for the PostgreSQL tests)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >.run/apt-postgres.log 2>&1 \
        || { say "could not install PostgreSQL; its tests will skip"; exit 0; }
fi
version=$(ls /etc/postgresql 2>/dev/null | sort -n | tail -1)
[ -n "$version" ] || { say "no PostgreSQL cluster found; its tests will skip"; exit 0; }
if ! pg_lsclusters -h | awk -v v="$version" '$1==v && $2=="main" && $4=="online"' | grep -q .; then
    say "starting PostgreSQL $version"
    pg_ctlcluster "$version" main start || { say "PostgreSQL did not start; its tests will skip"; exit 0; }
fi
su postgres -c "psql -qtAc \"SELECT 1 FROM pg_roles WHERE rolname='innerspace'\"" | grep -q 1 \
    || su postgres -c "psql -qc \"CREATE ROLE innerspace LOGIN PASSWORD 'innerspace'\""
su postgres -c "psql -qtAc \"SELECT 1 FROM pg_database WHERE datname='innerspace_test'\"" | grep -q 1 \
    || su postgres -c "createdb -O innerspace innerspace_test"
port=$(pg_lsclusters -h | awk -v v="$version" '$1==v && $2=="main" {print $3}')
echo "postgresql+psycopg://innerspace:innerspace@127.0.0.1:${port}/innerspace_test" > .run/postgres-url
say "PostgreSQL $version is ready for the tests (database innerspace_test)"
