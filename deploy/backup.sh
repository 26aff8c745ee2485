#!/usr/bin/env bash
# Back up backbone-bot's database (and its media) into BACKBONE_BACKUP_DIR, keeping the
# newest BACKBONE_BACKUP_KEEP of each. Safe while the bot runs:
# - PostgreSQL: pg_dump in its custom format (restore with pg_restore, see README.md);
# - SQLite: SQLite's online backup (`.backup`), a consistent copy even in WAL mode.
# Reads the same settings as the bot: BACKBONE_DATABASE_URL, else the SQLite file
# backbone.db in BACKBONE_DATA_DIR. Prints the path of the database backup it wrote.
set -euo pipefail

backup_dir="${BACKBONE_BACKUP_DIR:?set BACKBONE_BACKUP_DIR (where backups go)}"
keep="${BACKBONE_BACKUP_KEEP:-14}"
data_dir="${BACKBONE_DATA_DIR:-${XDG_DATA_HOME:-$HOME/.local/share}/backbone-bot}"
url="${BACKBONE_DATABASE_URL:-sqlite:///$data_dir/backbone.db}"
media_dir="${BACKBONE_MEDIA_DIR:-$data_dir/media}"
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
umask 077
mkdir -p "$backup_dir"

case "$url" in
  postgresql*://* | postgres://*)
    # libpq does not know SQLAlchemy's driver suffix.
    libpq_url="postgresql://${url#*://}"
    out="$backup_dir/backbone-$stamp.dump"
    pg_dump --format=custom --no-owner --file="$out.partial" --dbname="$libpq_url"
    ;;
  sqlite*://*)
    file="${url#*://}"
    file="${file#/}"  # sqlite:///relative.db -> relative.db, sqlite:////abs.db -> /abs.db
    file="${file%%\?*}"
    [ -f "$file" ] || { echo "backup.sh: no SQLite database at $file" >&2; exit 2; }
    out="$backup_dir/backbone-$stamp.db"
    if command -v sqlite3 >/dev/null; then
      sqlite3 "$file" ".timeout 30000" ".backup '$out.partial'"
    else
      python3 - "$file" "$out.partial" <<'PY'
import sqlite3, sys
src = sqlite3.connect(sys.argv[1], timeout=30)
dst = sqlite3.connect(sys.argv[2])
with dst:
    src.backup(dst)
dst.close()
src.close()
PY
    fi
    ;;
  *)
    echo "backup.sh: not a postgresql:// or sqlite:// URL" >&2
    exit 2
    ;;
esac
mv "$out.partial" "$out"

if [ -d "$media_dir" ] && [ -n "$(ls -A "$media_dir" 2>/dev/null)" ]; then
  tar -C "$media_dir" -czf "$backup_dir/media-$stamp.tar.gz.partial" .
  mv "$backup_dir/media-$stamp.tar.gz.partial" "$backup_dir/media-$stamp.tar.gz"
fi

# Keep the newest $keep of each kind.
for pattern in 'backbone-*.dump' 'backbone-*.db' 'media-*.tar.gz'; do
  # shellcheck disable=SC2012  # names are ours: no spaces or newlines
  { ls -1t "$backup_dir"/$pattern 2>/dev/null || true; } | tail -n +"$((keep + 1))" | xargs -r rm -f --
done
echo "$out"
