#!/usr/bin/env bash
# Prepares this machine for Hangar's Docker tests: packages, dockerd, local images, smoke check.
# Idempotent; a warm re-run takes a few seconds. Prints one line per step with seconds taken.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=SCRIPTDIR/lib.sh
source "$here/lib.sh"

step() {
  local name=$1; shift
  local t0 t1
  t0=$(date +%s.%N)
  "$@"
  t1=$(date +%s.%N)
  printf 'hangar setup: %-16s %6.1fs\n' "$name" "$(awk -v a="$t1" -v b="$t0" 'BEGIN{print a-b}')"
}

smoke() {
  # Containers start, and the images hold what the daemon relies on. (sshd -t would fail on
  # purpose: the images carry no host keys, the daemon injects them.)
  "$DOCKER" run --rm --network none hangar-test/ssh:latest sh -ec '
    test -x /usr/sbin/sshd
    test -x /usr/lib/openssh/sftp-server
    test -d /run/sshd
    ! ls /etc/ssh/ssh_host_* >/dev/null 2>&1
    test -x /usr/sbin/useradd
    python3 -c 1
    ip -V >/dev/null
    ps -p 1 >/dev/null' ||
    die "smoke check of hangar-test/ssh:latest failed"
  "$DOCKER" run --rm --network none hangar-test/jupyter:latest sh -ec '
    test -x /usr/sbin/sshd
    ! ls /etc/ssh/ssh_host_* >/dev/null 2>&1
    jupyter server --version >/dev/null
    jupyter notebook --version >/dev/null
    python3 -c "import ipykernel"' ||
    die "smoke check of hangar-test/jupyter:latest failed"
}

step install-packages "$here/install-packages.sh"
step start-dockerd "$here/start-dockerd.sh"
step build-images "$here/build-images.sh"
step smoke smoke
