#!/usr/bin/env bash
# CI smoke test of deploy/: the systemd units are valid (systemd-analyze verify, where it is
# available), and the documented backup restores into a working database — SQLite always,
# PostgreSQL when one answers on BACKBONE_TEST_POSTGRES_URL. Needs `backbone` on PATH.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# Only what this script sets: no token, no database URL from the caller's environment.
while IFS= read -r name; do unset "$name"; done < <(env | sed -n 's/^\(BACKBONE_[A-Z_]*\)=.*/\1/p' | grep -v '^BACKBONE_TEST_POSTGRES_URL$' || true)

# 1. The units. verify wants the programs of ExecStart= to exist: point them at this
#    checkout's `backbone` and backup.sh, as an installation in /opt/backbone-bot would.
if command -v systemd-analyze >/dev/null; then
  mkdir -p "$work/units"
  for unit in backbone-bot.service backbone-backup.service backbone-backup.timer; do
    sed -e "s|/opt/backbone-bot/.venv/bin/backbone|$(command -v backbone)|" \
        -e "s|/opt/backbone-bot/deploy/backup.sh|$here/backup.sh|" \
        "$here/$unit" > "$work/units/$unit"
  done
  # The unit's User= need not exist on the CI machine; everything else must be valid.
  out="$(cd "$work/units" && systemd-analyze verify --man=no ./*.service ./*.timer 2>&1 || true)"
  problems="$(printf '%s\n' "$out" | grep -v -e 'Failed to resolve user' -e 'user .* not found' \
    -e '^$' -e 'Cannot add dependency job' -e 'Unit is bound to inactive unit' \
    -e 'network-online.target' -e 'postgresql.service' -e 'Failed to add dependency' || true)"
  if [ -n "$problems" ]; then
    printf 'systemd-analyze verify:\n%s\n' "$problems" >&2
    exit 1
  fi
  echo "units: valid (systemd-analyze verify)"
else
  echo "units: systemd-analyze not available, skipped"
fi

# 2. SQLite: the online backup restores into a working database.
export BACKBONE_DATA_DIR="$work/data" BACKBONE_BACKUP_DIR="$work/backups"
backbone db upgrade >/dev/null
backbone groups create smoke-partners >/dev/null
backup="$("$here/backup.sh")"
mkdir -p "$work/restored"
cp "$backup" "$work/restored/backbone.db"  # the restore: the backup file is the database
BACKBONE_DATA_DIR="$work/restored" backbone groups list | grep -q '^smoke-partners ' \
  || { echo "SQLite restore: the group is missing" >&2; exit 1; }
echo "sqlite: backup $(basename "$backup") restores into a working database"
unset BACKBONE_DATA_DIR

# 3. PostgreSQL: pg_dump, then pg_restore into a fresh database.
pg="${BACKBONE_TEST_POSTGRES_URL:-}"
if [ -n "$pg" ] && command -v pg_dump >/dev/null && pg_isready -q -d "postgresql://${pg#*://}"; then
  admin="postgresql://${pg#*://}"
  base="${admin%/*}"
  name="bb_smoke_$$"
  psql -q -d "$admin" -c "CREATE DATABASE ${name}" -c "CREATE DATABASE ${name}_restored"
  cleanup_pg() {
    psql -q -d "$admin" -c "DROP DATABASE IF EXISTS ${name} WITH (FORCE)" \
      -c "DROP DATABASE IF EXISTS ${name}_restored WITH (FORCE)" || true
    rm -rf "$work"
  }
  trap cleanup_pg EXIT
  export BACKBONE_DATABASE_URL="$base/$name"
  backbone db upgrade >/dev/null
  backbone groups create smoke-partners >/dev/null
  dump="$("$here/backup.sh")"
  pg_restore --no-owner --exit-on-error --dbname="$base/${name}_restored" "$dump"
  BACKBONE_DATABASE_URL="$base/${name}_restored" backbone groups list \
    | grep -q '^smoke-partners ' || { echo "PostgreSQL restore: the group is missing" >&2; exit 1; }
  echo "postgresql: pg_dump $(basename "$dump") restores into a working database"
else
  echo "postgresql: no server on BACKBONE_TEST_POSTGRES_URL, skipped"
fi
