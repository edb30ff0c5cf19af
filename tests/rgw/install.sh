#!/usr/bin/env bash
# Install Ceph's S3 gateway (radosgw) and a one-node cluster's daemons from Debian, for the
# storage tests that run against a production S3 implementation. Idempotent; ~30 s when new.
set -euo pipefail
if command -v radosgw >/dev/null && command -v ceph-mon >/dev/null && command -v ceph-osd >/dev/null; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends radosgw ceph-mon ceph-osd >/dev/null
