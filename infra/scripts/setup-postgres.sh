#!/bin/sh
# Temporal's PostgreSQL schema (run by the temporal-schema service of infra/docker-compose.yml
# in temporalio/admin-tools). Idempotent: an existing database is kept and update-schema only
# applies the versions that are missing, so it is also the upgrade step.
set -eu

: "${POSTGRES_SEEDS:?POSTGRES_SEEDS is required}"
: "${POSTGRES_USER:?POSTGRES_USER is required}"
: "${SQL_PASSWORD:?SQL_PASSWORD is required}" # read by temporal-sql-tool (kept out of argv)
PORT=${DB_PORT:-5432}
SCHEMA=/etc/temporal/schema/postgresql/v12

echo "waiting for PostgreSQL at ${POSTGRES_SEEDS}:${PORT}"
attempt=1
until nc -z -w 5 "$POSTGRES_SEEDS" "$PORT"; do
  [ "$attempt" -ge 30 ] && { echo "PostgreSQL is unreachable" >&2; exit 1; }
  attempt=$((attempt + 1))
  sleep 2
done

sql() {
  temporal-sql-tool --plugin postgres12 --ep "$POSTGRES_SEEDS" -p "$PORT" -u "$POSTGRES_USER" "$@"
}

for pair in temporal:temporal temporal_visibility:visibility; do
  database=${pair%%:*}
  kind=${pair##*:}
  echo "database ${database}"
  # on a re-run the first two fail harmlessly (database and version tables exist); a real
  # failure (credentials, network) makes update-schema fail too, which ends the job in error
  sql --db "$database" create || echo "${database}: database exists"
  sql --db "$database" setup-schema -v 0.0 || echo "${database}: version tables exist"
  sql --db "$database" update-schema -d "${SCHEMA}/${kind}/versioned"
done
echo "schema ready"
