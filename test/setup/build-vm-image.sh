#!/usr/bin/env bash
# Builds (and caches) the VM template the libvirt driver tests boot, and can prove it works.
#
#   build-vm-image.sh [build]   build the template unless cached; prints its directory
#   build-vm-image.sh path      prints the directory the current recipe builds into (no build)
#   build-vm-image.sh verify [N]  build if needed, then boot it N times (default 1) under
#                               libvirt as described below; prints the timings
#
# The template: ~/.cache/hangar/vm/debian12-<recipe hash>/
#   disk.qcow2     ext4 root filesystem, no partition table (root=/dev/vda), 2 GiB virtual,
#                  zstd-compressed clusters (~125 MB on disk).
#                  Debian bookworm (debootstrap --variant=minbase) + linux-image-cloud-amd64,
#                  systemd-sysv, dbus, openssh-server (NO host keys: cloud-init makes ed25519
#                  and ecdsa keys on first boot; ssh.service falls back to ssh-keygen -A when
#                  there are none, e.g. without a seed), cloud-init, sudo, iproute2,
#                  qemu-guest-agent, e2fsprogs, nfs-common (mount.nfs: guests mount shares). No root
#                  password, no users but root until
#                  cloud-init runs (its default user: debian, sudo without password, no password).
#   vmlinuz, initrd.img   the kernel and initramfs for direct kernel boot (no bootloader in the
#                  image). The initramfs holds only the modules listed in write_initramfs_config.
#   template.json  metadata the driver reads (name, os, default_user, cloud_init, firmware,
#                  kernel, initrd, cmdline, access, ...).
#
# Guest behaviour:
#   * cloud-init 22.4 with datasource_list [ NoCloud, None ]: a NoCloud seed (a CD-ROM or disk
#     with volume label "cidata" holding user-data and meta-data) configures it; without one
#     it falls back to the None datasource. Only these modules run (fast under TCG):
#       init:   bootcmd, write_files, resizefs, set_hostname, update_hostname,
#               update_etc_hosts, users_groups, ssh
#       config: set_passwords, runcmd
#       final:  scripts_vendor, scripts_per_once, scripts_per_boot, scripts_per_instance,
#               scripts_user, final_message
#     cloud-init's network configuration is disabled (network-config in a seed is ignored).
#   * systemd-networkd runs DHCPv4 on every Ethernet NIC (80-hangar-dhcp.network) and takes
#     neither a default route nor DNS servers from it (no IPv6 either): the guest can answer
#     connections forwarded to it (they come from the on-link gateway: 10.0.2.2 with QEMU's
#     user networking, the host's gateway address with passt) but cannot reach anything off
#     its own subnet.
#   * When boot is complete (cloud-final.service done, ssh.service running) the unit
#     hangar-boot-ok.service writes one line to /dev/ttyS0 (after a newline of its own):
#       HANGAR-BOOT-OK uptime=<seconds since the kernel started>
#     Match "HANGAR-BOOT-OK uptime=" anywhere in the log, not only at a line start: console
#     output of other processes can interleave.
#   * Kernel command line (template.json "cmdline"): see CMDLINE. The guest needs ACPI
#     (<features><acpi/></features>) for `virsh shutdown` to power it off.
#   * The kvm modules are blacklisted in the guest (TCG's qemu64 CPU advertises SVM).
#
# verify: needs libvirt (runs start-libvirtd.sh). For each round: copies the template files
# into the pool dir (qemu runs as libvirt-qemu and cannot read /root/.cache), makes a qcow2
# overlay on them, a NoCloud seed ISO whose user-data creates user "hangar" with a throwaway
# ed25519 key, and defines a TCG domain: direct kernel boot, virtio disk, IDE CD-ROM seed,
# QEMU user networking forwarding 127.0.0.1:<free port> to guest port 22, serial console
# logged to /var/lib/hangar-test/logs/<domain>.serial.log, guest agent channel. Then it starts
# the domain, waits for HANGAR-BOOT-OK on the serial log (HANGAR_VM_BOOT_TIMEOUT, default 300 s),
# runs `ssh ... hangar@127.0.0.1 true`, checks sudo, hostname, cloud-init status and the guest
# agent, shuts the guest down with ACPI (`virsh shutdown`) and waits for "shut off"
# (HANGAR_VM_SHUTDOWN_TIMEOUT, default 120 s), undefines the domain and deletes every file it
# made (only files named hangar-verify-*; other files in the pool are left alone). It prints
# one line per round: seconds from `virsh start` to its return, to the marker, to SSH ready,
# and from `virsh shutdown` to "shut off" (here, 1 vCPU under TCG: ~0.4 / ~37 / ~38 / ~3.5).
# The last round's domain XML, seed files, serial log and timings stay in
# ~/.cache/hangar/vm/verify-last/ for reference.
#
# Networking: Debian 12's libvirt 9.0 rejects <interface type='user'><backend type='passt'/>
# ("XML error: Invalid value for attribute 'type' in element 'backend': 'passt'": Debian's
# Disable-passt-support.patch), and libvirt's own <interface type='user'> (QEMU's slirp) has
# no port forwarding. So the NIC is given to QEMU directly in <qemu:commandline> (libvirt then
# marks the domain tainted "custom-argv" and does not know the NIC: no domifaddr, no hotplug)
# with an explicit PCI slot (0x10): left to QEMU it takes slot 2, which libvirt gives to one of
# its own devices, and the domain fails to start. restrict=on: the guest cannot reach the host
# or the outside; hostfwd still works.
#
# Caching: the recipe hash covers the suite, mirror, packages, disk size, kernel command line
# and the bodies of the functions that customise the rootfs. A template directory is complete
# when its template.json exists (written last). Downloaded .deb files are kept in
# ~/.cache/hangar/debs/bookworm-amd64 (debootstrap --cache-dir, and copied in and out of the
# chroot's apt cache), so a rebuild downloads only what changed. Logs: ~/.cache/hangar/vm/*.log.
# Quiet unless something fails (HANGAR_SETUP_VERBOSE=1 prints progress).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=SCRIPTDIR/lib.sh
source "$here/lib.sh"
need_root

MODE=${1:-build}
NAME=debian12
SUITE=bookworm
VM_DIR="$HANGAR_CACHE/vm"
DEB_CACHE="$HANGAR_CACHE/debs/$SUITE-amd64"
DISK_SIZE=2G
# rclone + fuse3: datasets the guest mounts itself (daemon/backends/libvirt/guestDatasets.ts).
VM_PACKAGES="linux-image-cloud-amd64 initramfs-tools systemd-sysv udev dbus openssh-server cloud-init sudo iproute2 netbase e2fsprogs qemu-guest-agent nfs-common jupyter-notebook rclone fuse3"
CMDLINE="root=/dev/vda rw console=ttyS0,115200n8 quiet"
MARKER=HANGAR-BOOT-OK
MIRROR=$(detect_debian_mirror "$SUITE")
MIRROR=${MIRROR%/}

# ---------------------------------------------------------------------------------------------
# Rootfs customisation (their bodies are part of the recipe hash).

# Before the kernel is installed: a small initramfs (only the modules needed to mount an ext4
# root on virtio-blk; whatever the cloud kernel has built in is skipped), no resume probing.
write_initramfs_config() {
  local root=$1
  mkdir -p "$root/etc/initramfs-tools/conf.d"
  printf 'MODULES=list\nCOMPRESS=zstd\n' >"$root/etc/initramfs-tools/conf.d/hangar.conf"
  printf 'RESUME=none\n' >"$root/etc/initramfs-tools/conf.d/resume"
  printf '%s\n' virtio_pci virtio_blk ext4 crc32c_generic >>"$root/etc/initramfs-tools/modules"
}

customize_vm() {
  local root=$1
  guard_root "$root"
  find "$root/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete 2>/dev/null || true
  find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete 2>/dev/null || true
  rm -rf "${root:?}"/usr/share/{man,info,groff,lintian,linda}/* "${root:?}"/usr/share/locale/*
  # shellcheck disable=SC2086 # word splitting of the package list is intended
  in_chroot "$root" apt-get install -y -q --no-install-recommends $VM_PACKAGES

  # Root filesystem: no fsck at boot (the initramfs mounts it rw, see CMDLINE).
  printf '/dev/vda / ext4 rw,noatime,errors=remount-ro 0 0\n' >"$root/etc/fstab"

  # DHCPv4 on every Ethernet NIC; no default route, no DNS, no IPv6 (see the header).
  mkdir -p "$root/etc/systemd/network"
  cat >"$root/etc/systemd/network/80-hangar-dhcp.network" <<'X'
[Match]
Type=ether

[Network]
DHCP=ipv4
LinkLocalAddressing=no
IPv6AcceptRA=no

[DHCPv4]
UseGateway=no
UseRoutes=no
UseDNS=no
UseNTP=no
UseDomains=no
UseHostname=no
X

  # cloud-init: NoCloud only, trimmed modules, no network rendering, default user "debian".
  cat >"$root/etc/cloud/cloud.cfg.d/90_hangar.cfg" <<'X'
# Hangar test template (test/setup/build-vm-image.sh).
datasource_list: [ NoCloud, None ]
network: {config: disabled}
preserve_hostname: false
manage_etc_hosts: true
ssh_deletekeys: true
ssh_genkeytypes: [ed25519, ecdsa]
disable_root: true
cloud_init_modules:
  - bootcmd
  - write_files
  - resizefs
  - set_hostname
  - update_hostname
  - update_etc_hosts
  - users_groups
  - ssh
cloud_config_modules:
  - set_passwords
  - runcmd
cloud_final_modules:
  - scripts_vendor
  - scripts_per_once
  - scripts_per_boot
  - scripts_per_instance
  - scripts_user
  - final_message
final_message: "cloud-init finished: datasource $DATASOURCE, $UPTIME s after boot"
system_info:
  default_user:
    name: debian
    lock_passwd: true
    gecos: Debian
    groups: [adm, sudo]
    sudo: "ALL=(ALL) NOPASSWD:ALL"
    shell: /bin/bash
X

  # qemu64 (TCG's default CPU model) advertises SVM, so udev would load kvm_amd in the guest.
  printf 'blacklist %s\n' kvm kvm_amd kvm_intel >"$root/etc/modprobe.d/hangar-no-kvm.conf"

  # sshd: host keys come from cloud-init; without them (no cloud-init run) make them at start.
  mkdir -p "$root/etc/systemd/system/ssh.service.d"
  cat >"$root/etc/systemd/system/ssh.service.d/hangar.conf" <<'X'
[Unit]
After=cloud-init.service

[Service]
ExecStartPre=
ExecStartPre=/bin/sh -c 'ls /etc/ssh/ssh_host_*_key >/dev/null 2>&1 || ssh-keygen -A'
ExecStartPre=/usr/sbin/sshd -t
X

  # The boot-finished marker on the serial console.
  cat >"$root/etc/systemd/system/hangar-boot-ok.service" <<'X'
[Unit]
Description=Hangar test template: tell the serial console that boot is complete
# No default dependencies: multi-user.target would otherwise be ordered after this unit, and
# cloud-final.service is ordered after multi-user.target (an ordering cycle systemd breaks by
# dropping cloud-final).
DefaultDependencies=no
After=sysinit.target basic.target cloud-final.service ssh.service systemd-networkd.service
Conflicts=shutdown.target
Before=shutdown.target

[Service]
Type=oneshot
RemainAfterExit=yes
# A leading newline: the serial getty's login prompt may have been printed without one.
ExecStart=/bin/sh -c 'read -r up _ </proc/uptime; printf "\\nHANGAR-BOOT-OK uptime=%%s\\n" "$up" >/dev/ttyS0'

[Install]
WantedBy=multi-user.target
X
  in_chroot "$root" systemctl enable systemd-networkd.service hangar-boot-ok.service
  # Periodic jobs a short-lived test VM does not need (they only cost CPU under TCG).
  in_chroot "$root" systemctl mask apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer \
    e2scrub_all.timer e2scrub_reap.service fstrim.timer
}

# Leaves the rootfs ready to become a disk: no apt lists/caches, logs, host keys, machine id,
# cloud-init state.
clean_vm_rootfs() {
  local root=$1
  guard_root "$root"
  rm -rf "${root:?}"/var/lib/apt/lists/* "${root:?}"/var/cache/apt/* "${root:?}"/var/cache/debconf/*-old \
    "${root:?}"/var/lib/dpkg/*-old "${root:?}"/var/log/* "${root:?}"/tmp/* "${root:?}"/var/tmp/* \
    "${root:?}"/root/.cache "${root:?}"/var/lib/cloud/* "${root:?}"/dev/*
  rm -f "${root:?}"/etc/ssh/ssh_host_*
  mkdir -p "$root/var/lib/apt/lists/partial" "$root/var/cache/apt/archives/partial"
  : >"$root/etc/resolv.conf"
  # Empty machine-id: systemd makes one on first boot (and treats it as the first boot).
  : >"$root/etc/machine-id"
  rm -f "$root/var/lib/dbus/machine-id"
  echo localhost >"$root/etc/hostname"
}

# make_disk ROOT OUT: ext4 from the directory (mke2fs -d: no loop mount), then qcow2 with
# zstd-compressed clusters (~125 MB instead of ~350 MB; QEMU decompresses on read, writes go
# to the guest's overlay uncompressed; needs QEMU >= 5.1).
# Inode tables and journal are written now (lazy_*_init=0): the zeros cost nothing in the qcow2
# and the guest kernel then has no background zeroing to do on first mount.
make_disk() {
  local root=$1 out=$2 raw=$2.raw
  rm -f "$raw"
  truncate -s "$DISK_SIZE" "$raw"
  mke2fs -q -F -t ext4 -L hangar-root -E lazy_itable_init=0,lazy_journal_init=0,root_owner=0:0 \
    -d "$root" "$raw"
  qemu-img convert -q -f raw -O qcow2 -c -o compression_type=zstd "$raw" "$out"
  rm -f "$raw"
}

# ---------------------------------------------------------------------------------------------
# Chroot plumbing (as in build-images.sh): only a fresh procfs is mounted, never bind mounts of
# host dirs; it is unmounted before anything is deleted, and deletions use --one-file-system.
# shellcheck source=SCRIPTDIR/chroot.sh
source "$here/chroot.sh"
WORK_PARENT=$VM_DIR

# ---------------------------------------------------------------------------------------------
sha() { sha256sum | cut -c1-64; }
RECIPE=$(
  {
    echo "vm v1 $NAME $SUITE minbase $MIRROR $DISK_SIZE"
    files_hash "$here/build-vm-image.sh" "$here/chroot.sh" "$here/lib.sh"
    echo "$VM_PACKAGES"
    echo "$CMDLINE"
    declare -f write_dpkg_excludes write_initramfs_config customize_vm clean_vm_rootfs make_disk
  } | sha
)
OUT="$VM_DIR/$NAME-${RECIPE:0:16}"

write_template_json() {
  local dir=$1 kver=$2 size
  size=$(stat -c %s "$dir/disk.qcow2")
  cat >"$dir/template.json" <<X
{
  "name": "$NAME",
  "os": "debian-12",
  "arch": "x86_64",
  "default_user": "debian",
  "cloud_init": true,
  "cloud_init_datasources": ["NoCloud", "None"],
  "firmware": "direct-kernel",
  "machine": "pc",
  "disk": "disk.qcow2",
  "disk_format": "qcow2",
  "disk_virtual_size": "$DISK_SIZE",
  "disk_bytes": $size,
  "disk_bus": "virtio",
  "kernel": "vmlinuz",
  "kernel_version": "$kver",
  "initrd": "initrd.img",
  "cmdline": "$CMDLINE",
  "needs_acpi": true,
  "boot_marker": "$MARKER",
  "serial": "ttyS0",
  "guest_agent": true,
  "access": ["ssh"],
  "recipe": "$RECIPE"
}
X
}

# Other recipes' templates go once they are two days old: a worktree of another branch that still
# builds the previous recipe keeps finding its own meanwhile (no rebuild ping-pong).
prune_vm_cache() {
  local d
  for d in "$VM_DIR/$NAME"-*; do
    [[ -d $d && $d != "$OUT" ]] || continue
    if [[ -n $(find "$d" -maxdepth 0 -mmin +2880) ]]; then rm -rf --one-file-system "$d"; fi
  done
  rm -rf --one-file-system "$VM_DIR"/work.* 2>/dev/null || true
}

# Copies .deb files between the shared cache and a chroot's apt cache (hard links when possible;
# files already there, e.g. left by debootstrap --cache-dir, are skipped).
debs_copy() {
  local from=$1 to=$2 f
  for f in "$from"/*.deb; do
    [[ -f $f && ! -e $to/${f##*/} ]] || continue
    cp -l "$f" "$to/" 2>/dev/null || cp "$f" "$to/"
  done
}
debs_into() { debs_copy "$DEB_CACHE" "$1/var/cache/apt/archives"; }
debs_out() { debs_copy "$1/var/cache/apt/archives" "$DEB_CACHE"; }
build_template() {
  [[ -f $OUT/template.json ]] && return 0
  exec 8>"$VM_DIR/.build.lock"
  flock 8
  if [[ -f $OUT/template.json ]]; then exec 8>&-; return 0; fi
  prune_vm_cache
  mkdir -p "$DEB_CACHE"
  local work root t0 kver
  t0=$SECONDS
  work=$(new_workdir)
  root="$work/rootfs"
  note "debootstrap $SUITE from $MIRROR (deb cache $DEB_CACHE)"
  run_logged "$VM_DIR/debootstrap.log" \
    debootstrap --variant=minbase --components=main --cache-dir="$DEB_CACHE" "$SUITE" "$root" "$MIRROR"
  write_dpkg_excludes "$root"
  write_initramfs_config "$root"
  chroot_enter "$root"
  CHROOT_LOG="$VM_DIR/customize.log"
  : >"$CHROOT_LOG"
  debs_into "$root"
  in_chroot "$root" apt-get update -q
  note "install $VM_PACKAGES"
  customize_vm "$root"
  debs_out "$root"
  in_chroot "$root" apt-get clean
  chroot_leave "$root"
  clean_vm_rootfs "$root"

  local stage="$work/out"
  mkdir -p "$stage"
  kver=$(find "$root/boot" -maxdepth 1 -name 'vmlinuz-*' -printf '%f\n' | sed 's/^vmlinuz-//' | sort -V | tail -n 1)
  [[ -n $kver && -f $root/boot/initrd.img-$kver ]] || die "no kernel/initrd in $root/boot"
  cp "$root/boot/vmlinuz-$kver" "$stage/vmlinuz"
  cp "$root/boot/initrd.img-$kver" "$stage/initrd.img"
  note "mke2fs -d + qemu-img convert"
  make_disk "$root" "$stage/disk.qcow2"
  chmod 0644 "$stage"/*
  write_template_json "$stage" "$kver"
  rm -rf --one-file-system "$OUT"
  mv "$stage" "$OUT"
  rm -rf --one-file-system "$work"
  note "built $OUT in $((SECONDS - t0)) s"
  exec 8>&-
}

# ---------------------------------------------------------------------------------------------
# verify
URI=qemu:///system
POOL=${HANGAR_LIBVIRT_POOL:-hangar-test}
VERIFY_PREFIX=hangar-verify
vsh() { timeout 120 virsh -q -c "$URI" "$@"; }

now() { date +%s.%N; }
since() { awk -v a="$(now)" -v b="$1" 'BEGIN { printf "%.1f", a - b }'; }

free_port() {
  local p
  for _ in $(seq 1 50); do
    p=$((20000 + RANDOM % 20000))
    if [[ -z $(ss -Htln "sport = :$p") ]]; then echo "$p"; return 0; fi
  done
  die "no free TCP port found"
}

# Removes verify domains and pool files left by an interrupted run (we hold the verify lock).
verify_cleanup_stale() {
  local d
  for d in $(vsh list --all --name | grep "^$VERIFY_PREFIX-" || true); do
    vsh destroy "$d" >/dev/null 2>&1 || true
    vsh undefine "$d" >/dev/null 2>&1 || true
  done
  rm -f "$POOL_DIR/$VERIFY_PREFIX"-*
  rm -f "$LOG_DIR/$VERIFY_PREFIX"-*
  vsh pool-refresh "$POOL" >/dev/null 2>&1 || true
}

CUR_DOM=
verify_exit_hook() {
  [[ -n ${CUR_DOM:-} ]] || return 0
  if [[ -f $LOG_DIR/$CUR_DOM.serial.log ]]; then
    echo "---- last 30 lines of the serial console of $CUR_DOM ----" >&2
    tail -n 30 "$LOG_DIR/$CUR_DOM.serial.log" >&2
  fi
  verify_cleanup_stale
}

domain_xml() {
  local dom=$1 port=$2 base=$POOL_DIR/$1
  cat <<X
<domain type='qemu' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>
  <name>$dom</name>
  <memory unit='MiB'>1024</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>$base.vmlinuz</kernel>
    <initrd>$base.initrd.img</initrd>
    <cmdline>$CMDLINE</cmdline>
  </os>
  <features>
    <acpi/>
  </features>
  <clock offset='utc'/>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='$base.qcow2'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <disk type='file' device='cdrom'>
      <driver name='qemu' type='raw'/>
      <source file='$base.seed.iso'/>
      <target dev='hdc' bus='ide'/>
      <readonly/>
    </disk>
    <serial type='pty'>
      <log file='$LOG_DIR/$dom.serial.log' append='off'/>
      <target port='0'/>
    </serial>
    <console type='pty'>
      <target type='serial' port='0'/>
    </console>
    <channel type='unix'>
      <target type='virtio' name='org.qemu.guest_agent.0'/>
    </channel>
    <rng model='virtio'>
      <backend model='random'>/dev/urandom</backend>
    </rng>
    <memballoon model='none'/>
  </devices>
  <qemu:commandline>
    <qemu:arg value='-netdev'/>
    <qemu:arg value='user,id=hangarnet0,restrict=on,hostfwd=tcp:127.0.0.1:$port-:22'/>
    <qemu:arg value='-device'/>
    <qemu:arg value='virtio-net-pci,netdev=hangarnet0,addr=0x10'/>
  </qemu:commandline>
</domain>
X
}

# One boot: prints "marker=<s> ssh=<s> shutdown=<s>" and keeps the files in verify-last/.
verify_round() {
  local round=$1 dom port key_dir base t0 t_marker t_ssh t_shut deadline state out
  dom="$VERIFY_PREFIX-$$-$round"
  base="$POOL_DIR/$dom"
  port=$(free_port)
  key_dir=$(mktemp -d)
  WORKDIRS+=("$key_dir")
  CUR_DOM=$dom

  # Template files into the pool dir (libvirt-qemu cannot traverse /root).
  cp --reflink=auto "$OUT/disk.qcow2" "$base.base.qcow2"
  cp "$OUT/vmlinuz" "$base.vmlinuz"
  cp "$OUT/initrd.img" "$base.initrd.img"
  qemu-img create -q -f qcow2 -b "$base.base.qcow2" -F qcow2 "$base.qcow2"

  ssh-keygen -q -t ed25519 -N '' -C "$dom" -f "$key_dir/id_ed25519"
  cat >"$key_dir/user-data" <<X
#cloud-config
users:
  - default
  - name: hangar
    gecos: Hangar test user
    shell: /bin/bash
    lock_passwd: true
    sudo: "ALL=(ALL) NOPASSWD:ALL"
    ssh_authorized_keys:
      - $(cat "$key_dir/id_ed25519.pub")
X
  cat >"$key_dir/meta-data" <<X
instance-id: $dom
local-hostname: $dom
X
  run_logged "$VM_DIR/verify-genisoimage.log" genisoimage -quiet -output "$base.seed.iso" -volid cidata -joliet -rock \
    -graft-points "user-data=$key_dir/user-data" "meta-data=$key_dir/meta-data"
  domain_xml "$dom" "$port" >"$key_dir/domain.xml"
  vsh define "$key_dir/domain.xml" >/dev/null || die "virsh define failed"

  t0=$(now)
  vsh start "$dom" >/dev/null || die "virsh start $dom failed"
  local t_started
  t_started=$(since "$t0")
  deadline=$((SECONDS + ${HANGAR_VM_BOOT_TIMEOUT:-300}))
  until grep -aq "$MARKER uptime=" "$LOG_DIR/$dom.serial.log" 2>/dev/null; do
    ((SECONDS < deadline)) || die "$dom: no $MARKER on the serial console within ${HANGAR_VM_BOOT_TIMEOUT:-300} s"
    [[ $(vsh domstate "$dom") == running ]] || die "$dom stopped during boot"
    sleep 0.5
  done
  t_marker=$(since "$t0")

  local -a ssh_opts=(-p "$port" -i "$key_dir/id_ed25519" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null
    -o BatchMode=yes -o ConnectTimeout=10 -o LogLevel=ERROR)
  deadline=$((SECONDS + 120))
  until timeout 30 ssh "${ssh_opts[@]}" hangar@127.0.0.1 true </dev/null 2>"$key_dir/ssh.err"; do
    ((SECONDS < deadline)) || die "$dom: ssh -p $port hangar@127.0.0.1 failed for 120 s: $(tail -n 3 "$key_dir/ssh.err")"
    sleep 1
  done
  t_ssh=$(since "$t0")

  # Beyond "true": the seed's user has sudo, cloud-init made the host keys, the default user exists.
  out=$(timeout 60 ssh "${ssh_opts[@]}" hangar@127.0.0.1 \
    'sudo -n true && echo sudo-ok; hostname; id -un debian; ls /etc/ssh/ssh_host_*_key.pub | wc -l; cloud-init status' \
    </dev/null 2>&1) || die "$dom: checks over ssh failed: $out"
  grep -qx sudo-ok <<<"$out" || die "$dom: sudo -n true failed: $out"
  grep -qx "$dom" <<<"$out" || die "$dom: hostname is not $dom: $out"
  grep -q 'status: done' <<<"$out" || die "$dom: cloud-init status is not done: $out"
  out=$(vsh qemu-agent-command "$dom" '{"execute":"guest-ping"}' 2>&1) || die "$dom: guest agent does not answer: $out"

  local t_s
  t_s=$(now)
  vsh shutdown "$dom" --mode acpi >/dev/null || die "virsh shutdown $dom failed"
  deadline=$((SECONDS + ${HANGAR_VM_SHUTDOWN_TIMEOUT:-120}))
  while state=$(vsh domstate "$dom") && [[ $state != "shut off" ]]; do
    ((SECONDS < deadline)) || die "$dom: still '$state' ${HANGAR_VM_SHUTDOWN_TIMEOUT:-120} s after virsh shutdown"
    sleep 0.5
  done
  t_shut=$(since "$t_s")

  rm -rf "$VM_DIR/verify-last"
  mkdir -p "$VM_DIR/verify-last"
  cp "$key_dir/domain.xml" "$key_dir/user-data" "$key_dir/meta-data" "$VM_DIR/verify-last/"
  cp "$LOG_DIR/$dom.serial.log" "$VM_DIR/verify-last/serial.log"
  printf 'virsh_start=%s marker=%s ssh=%s shutdown=%s\n' "$t_started" "$t_marker" "$t_ssh" "$t_shut" |
    tee "$VM_DIR/verify-last/timings"

  vsh undefine "$dom" >/dev/null || die "virsh undefine $dom failed"
  rm -f "$base".*
  rm -f "$LOG_DIR/$dom.serial.log"
  rm -rf "$key_dir"
  CUR_DOM=
  vsh pool-refresh "$POOL" >/dev/null 2>&1 || true
}

verify() {
  local rounds=${1:-1} i
  "$here/start-libvirtd.sh"
  POOL_DIR=$(vsh pool-dumpxml "$POOL" | sed -n 's:.*<path>\(.*\)</path>.*:\1:p' | head -n 1)
  [[ -d $POOL_DIR ]] || die "pool $POOL has no directory"
  LOG_DIR="$(dirname "$POOL_DIR")/logs"
  install -d -m 0711 "$LOG_DIR"
  exec 7>"$VM_DIR/.verify.lock"
  flock 7
  EXIT_HOOKS+=(verify_exit_hook)
  verify_cleanup_stale
  for ((i = 1; i <= rounds; i++)); do
    printf 'round %d: ' "$i"
    verify_round "$i"
  done
}

mkdir -p "$VM_DIR"
case $MODE in
  build)
    build_template
    echo "$OUT"
    ;;
  path) echo "$OUT" ;;
  verify)
    build_template
    verify "${2:-1}"
    ;;
  *) die "usage: $(basename "$0") [build|path|verify [ROUNDS]]" ;;
esac
