#!/usr/bin/env bash
# Builds the local test images without any registry:
#   hangar-test/ssh:latest      Debian bookworm (debootstrap --variant=minbase) + openssh-server,
#                               python3, bash, procps, passwd (useradd), iproute2, ca-certificates.
#                               No SSH host keys (/etc/ssh/ssh_host_* removed: the daemon injects
#                               per-environment keys); /run/sshd exists. CMD ["/bin/bash"].
#   hangar-test/jupyter:latest  the ssh rootfs + Jupyter from Debian packages
#                               (jupyter-notebook, python3-jupyter-server, python3-ipykernel).
#
# Start Jupyter in the jupyter image (verified by this script after each fresh import: it runs
# the command below in a container and GETs /api/status?token=... from inside the container and
# from the host via the container's bridge IP):
#   jupyter server --ServerApp.token=<TOKEN> --ip=0.0.0.0 --port=8888 --allow-root --no-browser
# (--allow-root is needed only when running as root; add --ServerApp.root_dir=<DIR> or it serves
#  the current directory. /usr/bin/jupyter comes from Debian package jupyter-core; the server is
#  python3-jupyter-server 1.23.3, which ships no `jupyter-server` script, so this script adds
#  /usr/local/bin/jupyter-server = `exec python3 -m jupyter_server "$@"`. It has no web UI of its
#  own (REST API + kernels only). The classic notebook UI, verified the same way:
#   jupyter notebook --NotebookApp.token=<TOKEN> --ip=0.0.0.0 --port=8888 --allow-root --no-browser
#  from jupyter-notebook + python3-notebook 6.4.12. Kernels: python3-ipykernel.)
#
# Caching / idempotency:
#   * Each image has a recipe hash (suite, mirror, package list, and the bodies of the shell
#     functions that customise the rootfs). The image carries it as label hangar.recipe.
#   * If the tag exists in dockerd with the same hangar.recipe label: nothing to do.
#   * Else if ~/.cache/hangar/images/<name>-<hash>.tar.gz exists: only `docker import` (seconds).
#   * Else the rootfs is built (debootstrap for ssh; the jupyter rootfs is the ssh tarball
#     unpacked, plus `apt-get install` in a chroot), tarred into the cache, then imported.
# Quiet unless something fails (HANGAR_SETUP_VERBOSE=1 prints progress).
# HANGAR_DEBIAN_MIRROR overrides the mirror read from /etc/apt/sources.list{,.d/*}.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=SCRIPTDIR/lib.sh
source "$here/lib.sh"
need_root
docker_up || die "docker does not answer on /var/run/docker.sock (run start-dockerd.sh)"

SUITE=bookworm
IMAGES_DIR="$HANGAR_CACHE/images"
SSH_TAG=hangar-test/ssh:latest
JUPYTER_TAG=hangar-test/jupyter:latest
SSH_PACKAGES="openssh-server python3 bash procps passwd iproute2 ca-certificates"
JUPYTER_PACKAGES="jupyter-core jupyter-notebook python3-notebook python3-jupyter-server python3-ipykernel"
IMPORT_CHANGES=(
  --change 'CMD ["/bin/bash"]'
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
  --change 'ENV LANG=C.UTF-8'
)

mkdir -p "$IMAGES_DIR"
# One build at a time (parallel callers wait; the second then finds the images up to date).
exec 9>"$IMAGES_DIR/.lock"
flock 9

# ---------------------------------------------------------------------------------------------
# Mirror: the first "deb" source serving $SUITE (not -updates/-security) that apt already uses.
detect_mirror() {
  if [[ -n ${HANGAR_DEBIAN_MIRROR:-} ]]; then
    echo "$HANGAR_DEBIAN_MIRROR"
    return
  fi
  local f uri=""
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [[ -f $f ]] || continue
    uri=$(awk -v suite="$SUITE" '
      $1 == "deb" {
        i = 2
        if ($i ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
        if ($(i + 1) == suite && $i ~ /^(https?|ftp):\/\//) { print $i; exit }
      }' "$f")
    [[ -n $uri ]] && break
  done
  if [[ -z $uri ]]; then
    for f in /etc/apt/sources.list.d/*.sources; do
      [[ -f $f ]] || continue
      # deb822: blank-line separated stanzas; fields Types, URIs, Suites, Enabled.
      uri=$(awk -v suite="$SUITE" '
        function flush() {
          if (types ~ /(^| )deb( |$)/ && enabled != "no" && (" " suites " ") ~ (" " suite " ") && uris != "") {
            split(uris, u, " ")
            for (k in u) if (u[k] ~ /^(https?|ftp):\/\//) { print u[k]; found = 1; exit }
          }
          types = uris = suites = enabled = ""
        }
        /^[ \t]*#/ { next }
        /^[ \t]*$/ { flush(); next }
        {
          line = $0; key = tolower(line); sub(/:.*/, "", key); sub(/^[^:]*:[ \t]*/, "", line)
          if (key == "types") types = line
          else if (key == "uris") uris = line
          else if (key == "suites") suites = line
          else if (key == "enabled") enabled = tolower(line)
        }
        END { if (!found) flush() }' "$f")
      [[ -n $uri ]] && break
    done
  fi
  echo "${uri:-http://deb.debian.org/debian}"
}
MIRROR=$(detect_mirror)
MIRROR=${MIRROR%/}

# ---------------------------------------------------------------------------------------------
# Rootfs customisation (their bodies are part of the recipe hashes).

# dpkg excludes docs/man/locales in the image, so installs (now and later, in containers) stay small.
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

customize_ssh() {
  local root=$1
  guard_root "$root"
  # Docs already unpacked by debootstrap (before the excludes existed).
  find "$root/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete 2>/dev/null || true
  find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete 2>/dev/null || true
  rm -rf "${root:?}"/usr/share/{man,info,groff,lintian,linda}/* "${root:?}"/usr/share/locale/*
  # shellcheck disable=SC2086 # word splitting of the package list is intended
  in_chroot "$root" apt-get install -y -q --no-install-recommends $SSH_PACKAGES
  # The daemon injects per-environment host keys.
  rm -f "${root:?}"/etc/ssh/ssh_host_*
  install -d -m 0755 "$root/run/sshd"
}

customize_jupyter() {
  local root=$1
  # shellcheck disable=SC2086 # word splitting of the package list is intended
  in_chroot "$root" apt-get install -y -q --no-install-recommends $JUPYTER_PACKAGES
  # Debian's python3-jupyter-server ships the module but no jupyter-server script, so
  # `jupyter server` would say "command not found". Add the entry point upstream provides.
  if [[ ! -e $root/usr/bin/jupyter-server ]]; then
    printf '#!/bin/sh\nexec /usr/bin/python3 -m jupyter_server "$@"\n' >"$root/usr/local/bin/jupyter-server"
    chmod 0755 "$root/usr/local/bin/jupyter-server"
  fi
}

# Leaves the rootfs ready to tar: no apt lists/caches, logs, host-specific files.
clean_rootfs() {
  local root=$1
  guard_root "$root"
  rm -rf "${root:?}"/var/lib/apt/lists/* "${root:?}"/var/cache/apt/* "${root:?}"/var/cache/debconf/*-old \
    "${root:?}"/var/lib/dpkg/*-old "${root:?}"/var/log/* "${root:?}"/tmp/* "${root:?}"/var/tmp/* "${root:?}"/root/.cache \
    "${root:?}"/dev/*
  mkdir -p "$root/var/lib/apt/lists/partial" "$root/var/cache/apt/archives/partial"
  : >"$root/etc/resolv.conf"
  rm -f "$root/etc/machine-id" "$root/var/lib/dbus/machine-id"
  echo localhost >"$root/etc/hostname"
}

# ---------------------------------------------------------------------------------------------
# Chroot plumbing. Only a fresh procfs is mounted (never bind mounts of host dirs), and it is
# unmounted before anything is deleted; deletions use --one-file-system as a second guard.
# Every path deleted under a rootfs must be inside one of our work dirs, never the host's /.
guard_root() {
  [[ $1 == "$IMAGES_DIR"/work.*/rootfs && -d $1 ]] || die "refusing to touch rootfs path '$1'"
}

MOUNTS=()
WORKDIRS=()
cleanup() {
  local m d
  for m in "${MOUNTS[@]}"; do umount -l "$m" 2>/dev/null || true; done
  for d in "${WORKDIRS[@]}"; do rm -rf --one-file-system "$d" 2>/dev/null || true; done
}
trap cleanup EXIT

chroot_enter() {
  local root=$1
  # No services may start while packages are installed (openssh-server's postinst would
  # otherwise start sshd on the host's network namespace).
  printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
  chmod 0755 "$root/usr/sbin/policy-rc.d"
  rm -f "$root/etc/resolv.conf"
  cp /etc/resolv.conf "$root/etc/resolv.conf"
  # Minimal device nodes (clean_rootfs empties /dev again: Docker provides its own).
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
    echo "build-images.sh: in chroot $root: command failed: $*" >&2
    echo "---- last 40 lines of $CHROOT_LOG ----" >&2
    tail -n 40 "$CHROOT_LOG" >&2
    exit 1
  fi
}

tar_rootfs() {
  local root=$1 out=$2
  tar --numeric-owner --xattrs --xattrs-include='security.capability' --sort=name \
    -C "$root" -cf - . | gzip -n -1 >"$out.partial"
  mv -f "$out.partial" "$out"
}

new_workdir() {
  local d
  d=$(mktemp -d "$IMAGES_DIR/work.XXXXXX")
  WORKDIRS+=("$d")
  echo "$d"
}

# ---------------------------------------------------------------------------------------------
# Recipes and cache paths.
sha() { sha256sum | cut -c1-64; }
SSH_RECIPE=$(
  {
    echo "ssh v1 $SUITE minbase $MIRROR"
    echo "$SSH_PACKAGES"
    printf '%s\n' "${IMPORT_CHANGES[@]}"
    declare -f write_dpkg_excludes customize_ssh clean_rootfs
  } | sha
)
JUPYTER_RECIPE=$(
  {
    echo "jupyter v1 from ssh $SSH_RECIPE"
    echo "$JUPYTER_PACKAGES"
    declare -f customize_jupyter clean_rootfs
  } | sha
)
SSH_TAR="$IMAGES_DIR/ssh-${SSH_RECIPE:0:16}.tar.gz"
JUPYTER_TAR="$IMAGES_DIR/jupyter-${JUPYTER_RECIPE:0:16}.tar.gz"

build_ssh_tar() {
  [[ -f $SSH_TAR ]] && return 0
  note "debootstrap $SUITE from $MIRROR"
  local work root
  work=$(new_workdir)
  root="$work/rootfs"
  run_logged "$IMAGES_DIR/debootstrap-ssh.log" \
    debootstrap --variant=minbase --components=main "$SUITE" "$root" "$MIRROR"
  write_dpkg_excludes "$root"
  chroot_enter "$root"
  CHROOT_LOG="$IMAGES_DIR/customize-ssh.log"
  : >"$CHROOT_LOG"
  in_chroot "$root" apt-get update -q
  customize_ssh "$root"
  in_chroot "$root" apt-get clean
  chroot_leave "$root"
  clean_rootfs "$root"
  note "tar ssh rootfs"
  tar_rootfs "$root" "$SSH_TAR"
  rm -rf --one-file-system "$work"
}

build_jupyter_tar() {
  [[ -f $JUPYTER_TAR ]] && return 0
  build_ssh_tar
  note "derive jupyter rootfs from $SSH_TAR"
  local work root
  work=$(new_workdir)
  root="$work/rootfs"
  mkdir -p "$root"
  tar --numeric-owner --xattrs --xattrs-include='security.capability' -C "$root" -xzf "$SSH_TAR"
  chroot_enter "$root"
  CHROOT_LOG="$IMAGES_DIR/customize-jupyter.log"
  : >"$CHROOT_LOG"
  in_chroot "$root" apt-get update -q
  customize_jupyter "$root"
  in_chroot "$root" apt-get clean
  chroot_leave "$root"
  clean_rootfs "$root"
  note "tar jupyter rootfs"
  tar_rootfs "$root" "$JUPYTER_TAR"
  rm -rf --one-file-system "$work"
}

image_recipe() {
  "$DOCKER" image inspect -f '{{index .Config.Labels "hangar.recipe"}}' "$1" 2>/dev/null || true
}

# import_image TAG RECIPE TARBALL: imports the tarball as TAG and drops the image TAG pointed
# to before (when no container still uses it), so re-builds do not pile up dangling images.
import_image() {
  local tag=$1 recipe=$2 tarball=$3 tarsum old_id new_id
  old_id=$("$DOCKER" image inspect -f '{{.Id}}' "$tag" 2>/dev/null || true)
  tarsum=$(sha256sum "$tarball" | cut -c1-64)
  note "docker import $tarball -> $tag"
  run_logged "$IMAGES_DIR/import.log" "$DOCKER" import "${IMPORT_CHANGES[@]}" \
    --change "LABEL hangar.recipe=$recipe hangar.rootfs.sha256=$tarsum" \
    --message "hangar test image $tag (recipe $recipe)" "$tarball" "$tag"
  new_id=$("$DOCKER" image inspect -f '{{.Id}}' "$tag")
  if [[ -n $old_id && $old_id != "$new_id" ]]; then
    "$DOCKER" rmi "$old_id" >/dev/null 2>&1 || true
  fi
}

# Starts Jupyter with a documented command (token given as <TOKEN>) in a container and checks
# that it answers with the token (HTTP 200) and refuses without it (403).
verify_jupyter_cmd() {
  local token cid ip status denied arg
  local -a cmd=()
  token=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
  for arg in "$@"; do cmd+=("${arg//<TOKEN>/$token}"); done
  cid=$("$DOCKER" run -d "$JUPYTER_TAG" "${cmd[@]}")
  # From inside the container (python3: the image has no curl).
  if ! "$DOCKER" exec "$cid" python3 -c '
import sys, time, urllib.request
url = "http://127.0.0.1:8888/api/status?token=" + sys.argv[1]
for _ in range(240):
    try:
        urllib.request.urlopen(url, timeout=2).read(); sys.exit(0)
    except Exception:
        time.sleep(0.25)
sys.exit(1)' "$token"; then
    "$DOCKER" logs "$cid" 2>&1 | tail -n 30 >&2
    "$DOCKER" rm -f "$cid" >/dev/null
    die "'$*' did not answer inside $JUPYTER_TAG"
  fi
  # From the host, to this container's bridge IP only.
  ip=$("$DOCKER" inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$cid")
  status=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://$ip:8888/api/status?token=$token" || true)
  denied=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://$ip:8888/api/status" || true)
  "$DOCKER" rm -f "$cid" >/dev/null
  [[ $status == 200 ]] || die "'$*': GET http://$ip:8888/api/status?token=... from the host gave HTTP $status"
  [[ $denied == 403 ]] || die "'$*': GET without token gave HTTP $denied (expected 403)"
}

verify_jupyter() {
  verify_jupyter_cmd jupyter server --ServerApp.token='<TOKEN>' --ip=0.0.0.0 --port=8888 --allow-root --no-browser
  verify_jupyter_cmd jupyter notebook --NotebookApp.token='<TOKEN>' --ip=0.0.0.0 --port=8888 --allow-root --no-browser
}

prune_cache() {
  local f
  for f in "$IMAGES_DIR"/ssh-*.tar.gz; do [[ -e $f && $f != "$SSH_TAR" ]] && rm -f "$f"; done
  for f in "$IMAGES_DIR"/jupyter-*.tar.gz; do [[ -e $f && $f != "$JUPYTER_TAR" ]] && rm -f "$f"; done
  rm -rf --one-file-system "$IMAGES_DIR"/work.* "$IMAGES_DIR"/*.partial 2>/dev/null || true
}

# ---------------------------------------------------------------------------------------------
# Stale work dirs / partial tarballs from an interrupted run.
prune_cache

if [[ $(image_recipe "$SSH_TAG") != "$SSH_RECIPE" ]]; then
  build_ssh_tar
  import_image "$SSH_TAG" "$SSH_RECIPE" "$SSH_TAR"
fi

if [[ $(image_recipe "$JUPYTER_TAG") != "$JUPYTER_RECIPE" ]]; then
  build_jupyter_tar
  import_image "$JUPYTER_TAG" "$JUPYTER_RECIPE" "$JUPYTER_TAR"
  verify_jupyter
fi
