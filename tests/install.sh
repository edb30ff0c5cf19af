#!/usr/bin/env bash
# The servers the tests start, from Debian: Ceph's S3 gateway (tests/rgw/install.sh) and
# redis-server (the fleet tests), Chromium (the browser tests). Idempotent; as root or with sudo.
set -euo pipefail
here="$(dirname "$0")"
bash "$here/rgw/install.sh"
if ! command -v redis-server >/dev/null; then
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends redis-server >/dev/null
  # the package starts a system-wide server on 6379; the tests start their own on a free port
  $SUDO systemctl disable --now redis-server >/dev/null 2>&1 || true
fi
# Chromium from Debian for the browser tests (Playwright drives it; its own browser download
# cannot run here), with a font so pages render text.
if ! command -v chromium >/dev/null; then
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
fi
# pywb (replays our WARC exports) and the wacz validator, in a venv of their own: pywb pins gevent
# and friends, which the project need not share. The tests find them in .venv-tools/bin.
tools="$here/../.venv-tools"
if [ ! -x "$tools/bin/pywb" ] || [ ! -x "$tools/bin/wacz" ] || [ ! -x "$tools/bin/wb-manager" ]; then
  python3 -m venv "$tools"
  "$tools/bin/pip" install -q "pywb>=2.9,<3" "wacz>=0.5,<1"
fi
