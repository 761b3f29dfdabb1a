#!/usr/bin/env bash
# Prints the directory of the PostgreSQL server binaries (initdb, postgres) the local
# integration tests use, or nothing: $PG_BIN, else `pg_config --bindir`, else the newest
# /usr/lib/postgresql/*/bin (Debian/Ubuntu), else the directory of `postgres` on the PATH.
set -uo pipefail
has_server() { [ -n "$1" ] && [ -x "$1/initdb" ] && [ -x "$1/postgres" ]; }
if [ -n "${PG_BIN:-}" ]; then
  has_server "$PG_BIN" && echo "$PG_BIN"
  exit 0
fi
candidates=("$(pg_config --bindir 2>/dev/null)")
while IFS= read -r dir; do candidates+=("$dir"); done < <(
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k4,4 -V -r)
candidates+=("$(dirname "$(command -v postgres 2>/dev/null || echo /nonexistent/x)")")
for dir in "${candidates[@]}"; do
  if has_server "$dir"; then echo "$dir"; exit 0; fi
done
