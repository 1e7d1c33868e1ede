#!/usr/bin/env bash
# Make a Redis server available as the Celery broker of the per-team CeleryExecutor deployment (the demo's
# --executor celery, the Celery tests and benchmark). Uses an installed redis-server, else installs Debian's
# redis-server package. Nothing here starts a server: each run starts its own private one on a free loopback
# port (airflow_policies.local.redis_server), with the packaged service left stopped.
set -euo pipefail

if command -v redis-server >/dev/null 2>&1; then
  exit 0
fi
echo "install-redis: installing Debian's redis-server package" >&2
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "install-redis: need root or sudo to apt-get install redis-server" >&2; exit 1; }
  sudo="sudo"
fi
# policy-rc.d 101: the package's own service is not started (only the private servers the runs start are wanted).
policy="/usr/sbin/policy-rc.d"
created_policy=""
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null && $sudo chmod +x "$policy" && created_policy=1
fi
install() { $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends redis-server >/dev/null; }
install || { $sudo apt-get update >/dev/null && install; }
if [ -n "$created_policy" ]; then $sudo rm -f "$policy"; fi
command -v redis-server >/dev/null 2>&1 \
  || { echo "install-redis: redis-server installed but not on PATH" >&2; exit 1; }
