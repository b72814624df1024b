#!/usr/bin/env bash
# Chroot helpers shared by build-images.sh and build-vm-image.sh (sourced; they set MOUNTS, WORKDIRS, EXIT_HOOKS
# and CHROOT_LOG, and set WORK_PARENT to the directory their work dirs live in). cleanup runs at exit: exit hooks,
# then unmounts, then removes work dirs.
MOUNTS=()
WORKDIRS=()
EXIT_HOOKS=()

cleanup() {
  local m d h
  for h in "${EXIT_HOOKS[@]}"; do "$h" || true; done
  for m in "${MOUNTS[@]}"; do umount -l "$m" 2>/dev/null || true; done
  for d in "${WORKDIRS[@]}"; do rm -rf --one-file-system "$d" 2>/dev/null || true; done
}
trap cleanup EXIT

# A work dir under WORK_PARENT, removed at exit.
new_workdir() {
  local d
  d=$(mktemp -d "$WORK_PARENT/work.XXXXXX")
  WORKDIRS+=("$d")
  echo "$d"
}

# Every path deleted under a rootfs must be inside one of our work dirs, never the host's /.
guard_root() {
  [[ $1 == "$WORK_PARENT"/work.*/rootfs && -d $1 ]] || die "refusing to touch rootfs path '$1'"
}

chroot_enter() {
  local root=$1
  # No services may start while packages are installed (openssh-server's postinst would
  # otherwise start sshd on the host's network namespace).
  printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
  chmod 0755 "$root/usr/sbin/policy-rc.d"
  rm -f "$root/etc/resolv.conf"
  cp /etc/resolv.conf "$root/etc/resolv.conf"
  # Minimal device nodes (the image's own /dev replaces them at run time).
  mkdir -p "$root/dev"
  local spec name major minor
  for spec in null:1:3 zero:1:5 full:1:7 random:1:8 urandom:1:9 tty:5:0; do
    IFS=: read -r name major minor <<<"$spec"
    [[ -c $root/dev/$name ]] || mknod -m 0666 "$root/dev/$name" c "$major" "$minor"
  done
  mkdir -p "$root/proc"
  mount -t proc proc "$root/proc"
  MOUNTS+=("$root/proc")
}

chroot_leave() {
  local root=$1
  umount "$root/proc"
  rm -f "$root/usr/sbin/policy-rc.d"
}

# Runs a command in the chroot, appending its output to $CHROOT_LOG; on failure prints the tail.
CHROOT_LOG=/dev/null
in_chroot() {
  local root=$1; shift
  if ! chroot "$root" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@" </dev/null >>"$CHROOT_LOG" 2>&1; then
    fail_with_log "$CHROOT_LOG" "in chroot $root: command failed: $*"
  fi
}

# dpkg excludes docs/man/locales in the image, so installs (now and later, in containers or VMs) stay small.
# Part of both scripts' recipe hashes (declare -f prints the body, not where it is defined).
write_dpkg_excludes() {
  local root=$1
  mkdir -p "$root/etc/dpkg/dpkg.cfg.d"
  cat >"$root/etc/dpkg/dpkg.cfg.d/hangar-excludes" <<'X'
path-exclude=/usr/share/doc/*
path-include=/usr/share/doc/*/copyright
path-exclude=/usr/share/man/*
path-exclude=/usr/share/info/*
path-exclude=/usr/share/groff/*
path-exclude=/usr/share/lintian/*
path-exclude=/usr/share/linda/*
path-exclude=/usr/share/locale/*
X
}

# tar_rootfs ROOT OUT: a reproducible gzip tarball of ROOT (numeric owners, file capabilities kept).
tar_rootfs() {
  local root=$1 out=$2
  tar --numeric-owner --xattrs --xattrs-include='security.capability' --sort=name \
    -C "$root" -cf - . | gzip -n -1 >"$out.partial"
  mv -f "$out.partial" "$out"
}
