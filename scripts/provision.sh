#!/usr/bin/env bash
# Installs the system packages the test suite talks to (a real redis-server, Debian's Chromium,
# real HTTP and SOCKS5 proxies: tinyproxy and microsocks)
# when they are missing. Runs as `npm test`'s pretest step, so `npm test` works on a fresh machine.
set -euo pipefail
need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
[ -x /usr/bin/chromium ] || need+=(chromium)
command -v tinyproxy >/dev/null 2>&1 || need+=(tinyproxy)
command -v microsocks >/dev/null 2>&1 || need+=(microsocks)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ] && ! command -v sudo >/dev/null 2>&1; then
    echo "provision: missing ${need[*]} and not root; install them with apt-get" >&2
    exit 1
  fi
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  echo "provision: installing ${need[*]} with apt-get" >&2
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq >/dev/null
  $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
