#!/usr/bin/env bash
# Serves HANGAR_NFS_DIR (default /var/lib/hangar-test/nfs/export) over NFS v4 (minor versions 0, 1, 2: libnfs speaks 4.0; v3 would need rpcbind) on
# HANGAR_NFS_ADDR:HANGAR_NFS_PORT (default 127.0.0.1:2049) with nfs-ganesha's VFS back end: this
# machine's kernel has no NFS server (and no client: the tests use libnfs-utils and a VM guest).
# Export path /export, no root squash, unprivileged client ports allowed (QEMU's user-mode network
# and libnfs connect from high ports). Idempotent and quiet: when ganesha already answers it only
# checks the port. Config, pid and log: $HANGAR_CACHE_DIR/nfs/.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=SCRIPTDIR/lib.sh
source "$here/lib.sh"
need_root

EXPORT_DIR=${HANGAR_NFS_DIR:-/var/lib/hangar-test/nfs/export}
ADDR=${HANGAR_NFS_ADDR:-127.0.0.1}
PORT=${HANGAR_NFS_PORT:-2049}
DIR="$HANGAR_CACHE/nfs"
CONF="$DIR/ganesha.conf"
PID="$DIR/ganesha.pid"
LOG="$DIR/ganesha.log"

command -v ganesha.nfsd >/dev/null || die "ganesha.nfsd not found (run install-packages.sh)"
mkdir -p "$DIR" "$EXPORT_DIR" /var/run/ganesha /var/lib/nfs/ganesha
chmod 0777 "$EXPORT_DIR"

exec 9>"$DIR/start.lock"
flock 9

# A changed config: the old server goes (SIGTERM, then SIGKILL after 10 s) before the new one starts.
stop_ganesha() {
  local pid
  pid=$(cat "$PID")
  kill "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 20); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.5
  done
  kill -9 "$pid" 2>/dev/null || true
  sleep 0.5
}

answers() { timeout 2 bash -c "exec 3<>/dev/tcp/$ADDR/$PORT" 2>/dev/null; }

conf=$(
  cat <<CONF
NFS_CORE_PARAM { Protocols = 4; NFS_Port = $PORT; Bind_addr = $ADDR; Enable_NLM = false; Enable_RQUOTA = false; Enable_UDP = false; }
NFSV4 { Graceless = true; Minor_Versions = 0, 1, 2; }
NFS_KRB5 { Active_krb5 = false; }
EXPORT_DEFAULTS { Protocols = 4; Transports = TCP; }
EXPORT {
  Export_Id = 1; Path = $EXPORT_DIR; Pseudo = /export; Access_Type = RW; Squash = No_Root_Squash;
  SecType = sys; PrivilegedPort = false; FSAL { Name = VFS; }
}
LOG { Default_Log_Level = WARN; }
CONF
)

if [[ -f $PID ]] && kill -0 "$(cat "$PID")" 2>/dev/null; then
  if [[ $(cat "$CONF") == "$conf" ]] && answers; then exit 0; fi
  stop_ganesha
fi

printf '%s\n' "$conf" >"$CONF"
note "starting ganesha.nfsd on $ADDR:$PORT serving $EXPORT_DIR"
# No rpcbind here: NFSv4 needs none, libnfs is told the port (nfs://127.0.0.1/export?nfsport=2049).
# 9>&-: the daemon must not inherit (and hold forever) the start lock.
ganesha.nfsd -f "$CONF" -L "$LOG" -p "$PID" -N NIV_WARN 9>&-
for _ in $(seq 1 60); do
  answers && exit 0
  sleep 0.5
done
fail_with_log "$LOG" "ganesha.nfsd did not answer on $ADDR:$PORT"
