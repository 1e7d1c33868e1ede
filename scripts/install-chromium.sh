#!/usr/bin/env bash
# Make a real headless browser available for the Policies page test: Debian's chromium and its chromedriver
# (/usr/bin/chromium, /usr/bin/chromedriver). Uses them if installed, else installs the Debian packages.
# No browser is downloaded by the test tooling itself (selenium is pointed at these binaries).
set -euo pipefail

if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
  exit 0
fi
echo "install-chromium: installing Debian's chromium and chromium-driver packages" >&2
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "install-chromium: need root or sudo to apt-get install chromium" >&2; exit 1; }
  sudo="sudo"
fi
packages=(chromium chromium-driver)
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${packages[@]}" >/dev/null \
  || { $sudo apt-get update >/dev/null && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${packages[@]}" >/dev/null; }
command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1 \
  || { echo "install-chromium: chromium installed but chromium/chromedriver not on PATH" >&2; exit 1; }
