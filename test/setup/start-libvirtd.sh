#!/usr/bin/env bash
# Makes sure libvirt answers on qemu:///system and that the test storage pool exists.
# Idempotent: when everything is already in place it only runs a few virsh queries (well under
# a second).
#
#   * virtlogd and libvirtd are started by hand in the background when not running (no systemd
#     on the test machines): `virtlogd -d`, `libvirtd -d` (unix sockets only, no TCP listener).
#     Their logs: ~/.cache/hangar/libvirt/{virtlogd,libvirtd}.log (warnings and errors). The
#     errors libvirtd logs at start about dnsmasq, D-Bus, /sys/devices/virtual/dmi/id and
#     dmidecode are harmless here (no libvirt networks are used, no D-Bus, no SMBIOS).
#   * Waits until `virsh -c qemu:///system version` names the hypervisor, up to
#     HANGAR_LIBVIRTD_TIMEOUT seconds (default 240; each try at most 30 s), then fails with the
#     logs' tails. The first start on a machine probes QEMU's capabilities (qemu-system-x86_64
#     and -i386, cached in /var/cache/libvirt/qemu/capabilities); a start with that cache takes
#     ~1 s. (The very first start here took ~60 s, with /dev/kvm still root-only, see below.)
#   * libvirt's "default" NAT network (package libvirt-daemon-config-network) is never
#     autostarted: the tests use QEMU's user-mode networking only and nothing here may route
#     guests to the outside.
#   * Storage pool HANGAR_LIBVIRT_POOL (default hangar-test): type dir, target
#     HANGAR_LIBVIRT_POOL_DIR (default /var/lib/hangar-test/pool), defined, built, started,
#     autostarted. QEMU runs as libvirt-qemu:kvm under qemu:///system and cannot read anything
#     under /root (mode 0700): disks, kernels, initrds and seed ISOs the guests use must live in
#     the pool dir (or another directory libvirt-qemu can traverse). libvirt chowns each file
#     to libvirt-qemu when a domain starts (qemu.conf dynamic_ownership, the default). After the
#     domain stops, the writable overlay, kernel and initrd were root-owned again, while the
#     read-only ones (the overlay's backing file, the seed ISO) stayed libvirt-qemu-owned.
#   * /dev/kvm is made root:kvm 0660 (what Debian's udev rule does; there is no udev here, and
#     the node is root:root 0600). Why, although KVM does not work on these machines (nested,
#     no vmx/svm: guests must be <domain type='qemu'>): libvirt probes QEMU's capabilities as
#     root and finds KVM, then checks the cached result as libvirt-qemu, which cannot open
#     /dev/kvm ("KVM was enabled when probing ..., but it is not available now" in a debug
#     log), so it threw the cache away and re-probed QEMU (~3.5 s, a qemu process) on nearly
#     every API call: `virsh version`, define, start. With the node readable by group kvm the
#     cache stays valid; `virsh start` of a TCG guest went from ~8.5 s to ~0.4 s.
#   * /etc/libvirt/qemu.conf stays at Debian's defaults (user libvirt-qemu, group kvm,
#     dynamic_ownership = 1, remember_owner = 1, stdio_handler = "logd", DAC as the only
#     security driver as no AppArmor/SELinux is active, cgroups made by libvirt itself as there
#     is no systemd-machined): TCG guests start and run with them, nothing needs changing.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=SCRIPTDIR/lib.sh
source "$here/lib.sh"
need_root

POOL=${HANGAR_LIBVIRT_POOL:-hangar-test}
POOL_DIR=${HANGAR_LIBVIRT_POOL_DIR:-/var/lib/hangar-test/pool}
TIMEOUT=${HANGAR_LIBVIRTD_TIMEOUT:-240}
URI=qemu:///system
LOG_DIR="$HANGAR_CACHE/libvirt"

mkdir -p "$LOG_DIR"
command -v libvirtd >/dev/null || die "libvirtd not found (run install-packages.sh)"
command -v virtlogd >/dev/null || die "virtlogd not found (run install-packages.sh)"

# Parallel callers: one starts the daemons, the others wait for the lock and find them up.
exec 9>"$LOG_DIR/start.lock"
flock 9

fail() {
  echo "start-libvirtd.sh: error: $*" >&2
  local f
  for f in "$LOG_DIR/libvirtd.log" "$LOG_DIR/virtlogd.log"; do
    [[ -s $f ]] || continue
    echo "---- last 20 lines of $f ----" >&2
    tail -n 20 "$f" >&2
  done
  exit 1
}

# pid_of NAME: the pid in /run/NAME.pid when that process is a live NAME, else nothing.
pid_of() {
  local pid
  pid=$(cat "/run/$1.pid" 2>/dev/null || true)
  [[ -n $pid && $(cat "/proc/$pid/comm" 2>/dev/null || true) == "$1" ]] && echo "$pid"
  return 0
}

# start_daemon NAME: NAME -d with its log in $LOG_DIR, stdio and every inherited fd (the lock,
# a test runner's pipes) closed: the daemon must not hold the caller's terminal or pipes open.
start_daemon() {
  local name=$1
  echo "==== $(date -u +%FT%TZ) start-libvirtd.sh: $name -d" >>"$LOG_DIR/$name.log"
  (
    for fd in /proc/"$BASHPID"/fd/*; do
      fd=${fd##*/}
      if ((fd > 2)); then eval "exec $fd>&-" 2>/dev/null || true; fi
    done
    # Level 3: warnings and errors.
    LIBVIRT_LOG_OUTPUTS="3:file:$LOG_DIR/$name.log" exec setsid "$name" -d
  ) </dev/null >>"$LOG_DIR/$name.log" 2>&1 || fail "$name -d failed"
}

# (Output captured, not piped into grep -q: with pipefail, grep quitting early fails the pipe.)
libvirt_up() {
  local out
  out=$(timeout 30 virsh -c "$URI" version 2>/dev/null) || return 1
  [[ $out == *"Running hypervisor:"* ]]
}

# --- the default NAT network is never autostarted ----------------------------------------------
rm -f /etc/libvirt/qemu/networks/autostart/default.xml

# --- virtlogd ----------------------------------------------------------------------------------
if [[ -z $(pid_of virtlogd) ]]; then
  note "starting virtlogd"
  start_daemon virtlogd
  for _ in $(seq 1 40); do [[ -S /run/libvirt/virtlogd-sock ]] && break; sleep 0.25; done
  [[ -S /run/libvirt/virtlogd-sock ]] || fail "virtlogd did not create /run/libvirt/virtlogd-sock within 10 s"
fi

# --- /dev/kvm (see the header) -----------------------------------------------------------------
if [[ -c /dev/kvm ]] && getent group kvm >/dev/null &&
  [[ $(stat -c '%G %a' /dev/kvm) != "kvm 660" ]]; then
  note "chgrp kvm /dev/kvm; chmod 0660 /dev/kvm"
  chgrp kvm /dev/kvm
  chmod 0660 /dev/kvm
fi

# --- libvirtd ----------------------------------------------------------------------------------
pid=$(pid_of libvirtd)
if [[ -z $pid ]]; then
  note "starting libvirtd (the first start probes QEMU: up to a minute)"
  start_daemon libvirtd
  pid=$(pid_of libvirtd)
fi

deadline=$((SECONDS + TIMEOUT))
until libvirt_up; do
  [[ -n $(pid_of libvirtd) ]] || fail "libvirtd exited during startup"
  ((SECONDS < deadline)) || fail "libvirtd (pid ${pid:-?}) did not answer on $URI within $TIMEOUT s"
  sleep 1
done

vsh() { timeout 60 virsh -q -c "$URI" "$@"; }

# Not active either (it only would be if someone started it by hand).
if vsh net-info default >/dev/null 2>&1; then
  vsh net-autostart default --disable >/dev/null 2>&1 || true
  if [[ $(vsh net-info default 2>/dev/null) =~ Active:\ *yes ]]; then
    note "stopping libvirt network 'default'"
    vsh net-destroy default >/dev/null
  fi
fi

# --- storage pool ------------------------------------------------------------------------------
install -d -m 0755 "$(dirname "$POOL_DIR")"
if ! vsh pool-info "$POOL" >/dev/null 2>&1; then
  note "defining storage pool $POOL at $POOL_DIR"
  xml=$(mktemp)
  cat >"$xml" <<X
<pool type='dir'>
  <name>$POOL</name>
  <target>
    <path>$POOL_DIR</path>
    <permissions><mode>0711</mode><owner>0</owner><group>0</group></permissions>
  </target>
</pool>
X
  vsh pool-define "$xml" >/dev/null || { rm -f "$xml"; fail "virsh pool-define $POOL failed"; }
  rm -f "$xml"
fi
have_dir=$(vsh pool-dumpxml "$POOL" | sed -n 's:.*<path>\(.*\)</path>.*:\1:p' | head -n 1)
[[ $have_dir == "$POOL_DIR" ]] ||
  fail "storage pool $POOL exists with target '$have_dir', expected '$POOL_DIR' (virsh pool-undefine $POOL to redo)"
if [[ ! -d $POOL_DIR ]]; then
  vsh pool-build "$POOL" >/dev/null || fail "virsh pool-build $POOL failed"
fi
pool_info() { vsh pool-info "$POOL" 2>/dev/null || true; }
if ! [[ $(pool_info) =~ State:\ *running ]]; then
  vsh pool-start "$POOL" >/dev/null || fail "virsh pool-start $POOL failed"
fi
if ! [[ $(pool_info) =~ Autostart:\ *yes ]]; then
  vsh pool-autostart "$POOL" >/dev/null || fail "virsh pool-autostart $POOL failed"
fi
exit 0
