#!/usr/bin/env bash
# Start a throwaway Ceph cluster (1 mon, 1 memstore OSD) and radosgw on 127.0.0.1, with an S3
# user test/testtest. Usage: start.sh SCRATCH_DIR RGW_PORT MON_PORT. Pid files land in
# SCRATCH_DIR/run; everything lives in RAM and in SCRATCH_DIR. After the working recipe in
# ../shared/recipes/s3-servers.md.
set -euo pipefail
C=$1; RGW_PORT=$2; MON_PORT=$3
mkdir -p "$C"/{run,log,mon.a,osd.0}
FSID=$(cat /proc/sys/kernel/random/uuid)
cat > "$C/ceph.conf" <<CONF
[global]
fsid = $FSID
mon host = v1:127.0.0.1:$MON_PORT
public addr = 127.0.0.1
ms bind msgr2 = false
auth cluster required = none
auth service required = none
auth client required = none
auth allow insecure global id reclaim = true
osd pool default size = 1
osd pool default min size = 1
mon allow pool size one = true
mon warn on pool no redundancy = false
osd objectstore = memstore
memstore device bytes = 1073741824
osd pool default pg num = 8
osd pool default pgp num = 8
mon max pg per osd = 1000
# The OSD's own crush class and location updates at boot can race the monmap and fail with
# "wrong fsid" (seen here about one start in three): the script places the OSD itself.
osd class update on start = false
osd crush update on start = false
mon data avail crit = 1
run dir = $C/run
admin socket = $C/run/\$name.asok
log file = $C/log/\$name.log
mon data = $C/\$name
osd data = $C/\$name
keyring = $C/keyring
pid file = $C/run/\$name.pid
[client.rgw]
# tcp_nodelay=1 (a beast option, off by default): without it each GET's body waited for a delayed ACK
# on a kept-alive connection (~40 ms a GET, against 3 ms with it)
rgw frontends = beast endpoint=127.0.0.1:$RGW_PORT tcp_nodelay=1
rgw dns name = s3.localhost
CONF
CONF="$C/ceph.conf"
monmaptool --create --addv a "[v1:127.0.0.1:$MON_PORT]" --fsid "$FSID" "$C/monmap" >/dev/null
ceph-mon -c "$CONF" --mkfs -i a --monmap "$C/monmap"
ceph-mon -c "$CONF" -i a
# The OSD's uuid is given to both: without it, the OSD's own "osd create <its uuid>" at boot can
# meet an osd.0 registered without one and fail with 'wrong fsid' (seen here now and then).
OSD_UUID=$(cat /proc/sys/kernel/random/uuid)
ceph -c "$CONF" --connect-timeout 30 osd create "$OSD_UUID" 0 >/dev/null
# Place the OSD in the CRUSH map here rather than from the OSD at boot (see the conf above).
ceph -c "$CONF" osd crush add-bucket localhost host >/dev/null
ceph -c "$CONF" osd crush move localhost root=default >/dev/null
ceph -c "$CONF" osd crush add osd.0 1.0 host=localhost >/dev/null
ceph-osd -c "$CONF" -i 0 --mkfs --osd-uuid "$OSD_UUID" 2>>"$C/log/mkfs.log"
ceph-osd -c "$CONF" -i 0
radosgw -c "$CONF" -n client.rgw
for _ in $(seq 1 150); do
  curl -s -o /dev/null "http://127.0.0.1:$RGW_PORT/" && break
  sleep 0.4
done
radosgw-admin -c "$CONF" user create --uid=test --display-name=test --access-key=test --secret-key=testtest >/dev/null
