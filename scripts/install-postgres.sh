#!/usr/bin/env bash
# Make PostgreSQL's server programs available for the tests (audit and sync against a real PostgreSQL
# metadata DB). Uses an installed PostgreSQL if there is one, else installs Debian's `postgresql` package.
# Writes the directory holding initdb/pg_ctl/postgres to .tools/postgres-bin. The tests start their own
# private server on a free loopback port (airflow_policies.local.postgres_server); nothing here starts one.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
mkdir -p "$root/.tools"

find_bin() {
  local candidate
  for candidate in "$(dirname "$(command -v pg_ctl 2>/dev/null || echo /nonexistent/pg_ctl)")" \
    $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -rV); do
    if [ -x "$candidate/initdb" ] && [ -x "$candidate/pg_ctl" ] && [ -x "$candidate/postgres" ]; then
      echo "$candidate"
      return 0
    fi
  done
  return 1
}

if ! bin="$(find_bin)"; then
  echo "install-postgres: no PostgreSQL server found; installing Debian's postgresql package" >&2
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "install-postgres: need root or sudo to apt-get install postgresql" >&2; exit 1; }
    sudo="sudo"
  fi
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql >/dev/null \
    || { $sudo apt-get update >/dev/null && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql >/dev/null; }
  bin="$(find_bin)" || { echo "install-postgres: postgresql installed but initdb/pg_ctl not found" >&2; exit 1; }
fi

# PostgreSQL refuses to run as root: the tests then run it as this unprivileged user.
if [ "$(id -u)" -eq 0 ] && ! id postgres >/dev/null 2>&1; then
  useradd --system --no-create-home --shell /usr/sbin/nologin postgres
fi

echo "$bin" > "$root/.tools/postgres-bin"
