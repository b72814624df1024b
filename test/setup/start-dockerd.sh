#!/usr/bin/env bash
# Makes sure a Docker daemon answers on the default socket (unix:///var/run/docker.sock).
# If one already answers: does nothing. Otherwise starts dockerd by hand in the background
# (no systemd on the test machines), logging to ~/.cache/hangar/dockerd.log, and waits up
# to 60 s for it. Never exposes a TCP socket.
#
# Options are chosen from what the machine supports:
#   --storage-driver  overlay2 when the kernel has overlayfs and /var/lib/docker is not
#                     itself on overlayfs (nested Docker); vfs otherwise (slow but works).
#   --exec-opt native.cgroupdriver=cgroupfs   (no systemd to delegate cgroups to)
#   --iptables        kept on when `iptables -t nat -L` works (needed for -p publishing);
#                     otherwise --iptables=false --ip-masq=false.
# Override everything with HANGAR_DOCKERD_OPTS="...".
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=SCRIPTDIR/lib.sh
source "$here/lib.sh"
need_root

# dockerd registers its "nvidia" device driver only when nvidia-container-runtime-hook is on its PATH at start:
# the tests put a double there (test/doubles/, says so in its first line) so GPU DeviceRequests start for real.
hook_dir="$HANGAR_CACHE/gpu-double/bin"
mkdir -p "$hook_dir"
install -m 0755 "$here/../doubles/nvidia-container-runtime-hook" "$hook_dir/nvidia-container-runtime-hook"
hook_on_path() {
  local pid
  pid=$(pgrep -x dockerd | head -n 1) || return 1
  tr '\0' '\n' <"/proc/$pid/environ" | grep -q "^PATH=.*$hook_dir"
}

if docker_up && hook_on_path; then
  exit 0
fi
if docker_up; then
  # Started without the hook double (by hand, or an older setup): restart it with the double on PATH.
  pid=$(pgrep -x dockerd | head -n 1)
  kill "$pid"
  for _ in $(seq 1 120); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
fi

sock=/var/run/docker.sock
pidfile=/var/run/docker.pid
log="$HANGAR_CACHE/dockerd.log"
mkdir -p "$HANGAR_CACHE"

# Parallel callers: one starts dockerd, the others wait for the lock and then find it up.
exec 9>"$HANGAR_CACHE/dockerd.lock"
flock 9
if docker_up; then
  exit 0
fi

wait_up() {
  local deadline=$((SECONDS + $1))
  while ((SECONDS < deadline)); do
    docker_up && return 0
    sleep 0.5
  done
  return 1
}

fail() {
  echo "start-dockerd.sh: error: $*" >&2
  if [[ -f $log ]]; then
    echo "---- last 40 lines of $log ----" >&2
    tail -n 40 "$log" >&2
  fi
  exit 1
}

# A dockerd that is still starting (pidfile points at a live dockerd): just wait for it.
if [[ -f $pidfile ]]; then
  pid=$(cat "$pidfile" 2>/dev/null || true)
  if [[ -n $pid ]] && [[ $(cat "/proc/$pid/comm" 2>/dev/null || true) == dockerd ]]; then
    wait_up 60 && exit 0
    fail "dockerd (pid $pid) is running but does not answer on $sock after 60 s"
  fi
  rm -f "$pidfile" # stale
fi

command -v dockerd >/dev/null || fail "dockerd not found (run install-packages.sh)"

if [[ -n ${HANGAR_DOCKERD_OPTS:-} ]]; then
  read -r -a opts <<<"$HANGAR_DOCKERD_OPTS"
else
  opts=(--host="unix://$sock" --exec-opt native.cgroupdriver=cgroupfs)
  mkdir -p /var/lib/docker
  backing_fs=$(stat -f -c %T /var/lib/docker)
  if grep -qw overlay /proc/filesystems && [[ $backing_fs != overlayfs ]]; then
    opts+=(--storage-driver=overlay2)
  else
    opts+=(--storage-driver=vfs)
  fi
  if iptables -t nat -L -n >/dev/null 2>&1; then
    opts+=(--iptables=true)
  else
    opts+=(--iptables=false --ip-masq=false)
  fi
fi

{
  echo "==== $(date -u +%FT%TZ) start-dockerd.sh: dockerd ${opts[*]}"
} >>"$log"
# setsid, stdio redirected and every other inherited fd closed (the lock, a test runner's
# pipes): the daemon must not hold the caller's terminal or pipes open.
(
  for fd in /proc/"$BASHPID"/fd/*; do
    fd=${fd##*/}
    if ((fd > 2)); then eval "exec $fd>&-" 2>/dev/null || true; fi
  done
  PATH="$hook_dir:$PATH" exec setsid dockerd "${opts[@]}"
) </dev/null >>"$log" 2>&1 &
dpid=$!
disown "$dpid" 2>/dev/null || true

deadline=$((SECONDS + 60))
while ((SECONDS < deadline)); do
  docker_up && exit 0
  kill -0 "$dpid" 2>/dev/null || fail "dockerd exited during startup"
  sleep 0.5
done
fail "dockerd (pid $dpid) did not answer on $sock within 60 s"
