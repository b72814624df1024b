#!/usr/bin/env bash
# Builds the local test images without any registry:
#   hangar-test/ssh:latest      Debian bookworm (debootstrap --variant=minbase) + openssh-server,
#                               python3, bash, procps, passwd (useradd), iproute2, ca-certificates.
#                               No SSH host keys (/etc/ssh/ssh_host_* removed: the daemon injects
#                               per-environment keys); /run/sshd exists. CMD ["/bin/bash"].
#   hangar-test/jupyter:latest  the ssh rootfs + Jupyter from Debian packages
#                               (jupyter-notebook, python3-jupyter-server, python3-ipykernel).
#   hangar-test/desktop:latest  the ssh rootfs + TigerVNC 1.12 (Xvnc; vncpasswd is in tigervnc-tools)
#                               + the test desktop: twm, xterm, xclock (x11-apps), fonts-dejavu-core,
#                               and /usr/local/bin/hangar-desktop-session (the x-session-manager):
#                               root window #2e8b57, a navy xterm at +48+48, a clock top right.
#                               No VNC password in the image.
#   hangar-test/rdp:latest      the ssh rootfs + xrdp 0.9.21 + xorgxrdp (Xorg) + the same desktop.
#                               No RDP RSA keys and no TLS certificate/key in the image (like the
#                               ssh image's host keys): the start commands generate them.
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
# Start a VNC desktop in the desktop image (verified by this script after each fresh import, as
# root in a container, for a user made with useradd: the host then reads the RFB banner from the
# container's bridge IP port 5901 and VncAuth as the only security type). As root, $U the user,
# the password (any length; only its first 8 characters count) on stdin:
#   install -d -m 1777 /tmp/.X11-unix
#   su -s /bin/sh "$U" -c 'umask 077 && mkdir -p "$HOME/.vnc" && vncpasswd -f >"$HOME/.vnc/passwd"'
#   su -s /bin/sh "$U" -c 'exec Xvnc :1 -rfbport 5901 -rfbauth "$HOME/.vnc/passwd" -SecurityTypes VncAuth -localhost=0 -geometry 1280x800 -depth 24 >/tmp/xvnc.log 2>&1' </dev/null &
#   (wait for the socket /tmp/.X11-unix/X1)
#   su -s /bin/sh "$U" -c 'DISPLAY=:1 exec /etc/X11/Xsession' </dev/null >/dev/null 2>&1 &
# (vncpasswd -f writes the 8-byte obfuscated password to stdout; a second stdin line would add a
#  view-only password. An empty passwd file still starts Xvnc, which then refuses every client
#  with "No password configured for VNC Auth". Xvnc run by a non-root user creates
#  /tmp/.X11-unix itself, owned by that user, after a harmless "euid != 0" warning: create it as
#  root first. Xsession runs x-session-manager = hangar-desktop-session (ends when twm exits);
#  its log is ~/.xsession-errors. -localhost=0 listens on all addresses; Xvnc has no TLS here.)
#
# Start xrdp in the rdp image (verified by this script after each fresh import: the host sends an
# X.224 Connection Request to the container's bridge IP port 3389 and needs a Connection Confirm
# that selects TLS). No systemd: as root, $U the user, the password on stdin:
#   read -r pw && echo "$U:$pw" | chpasswd      # PAM (/etc/pam.d/xrdp-sesman) checks it: a
#                                               # key-only account (usermod -p '*') cannot log in
#   sh /usr/share/xrdp/socksetup                # /run/xrdp and /run/xrdp/sockdir (needs root)
#   touch /var/log/xrdp.log && chown xrdp:adm /var/log/xrdp.log   # else xrdp, running as user
#                                               # xrdp, quits: "error opening log file"
#   [ -s /etc/xrdp/rsakeys.ini ] || { (umask 077 && xrdp-keygen xrdp auto >/dev/null) && chown xrdp /etc/xrdp/rsakeys.ini; }
#   [ -s /etc/ssl/private/ssl-cert-snakeoil.key ] || DEBIAN_FRONTEND=noninteractive make-ssl-cert generate-default-snakeoil
#   xrdp-sesman --nodaemon </dev/null >/tmp/xrdp-sesman.out 2>&1 &
#   start-stop-daemon --start --chuid xrdp:xrdp --exec /usr/sbin/xrdp -- --nodaemon </dev/null >/tmp/xrdp.out 2>&1 &
# (Without rsakeys.ini xrdp exits at once; /etc/xrdp/{cert,key}.pem link to the snakeoil pair.
#  xrdp-sesman stays root and listens on 127.0.0.1:3350; xrdp listens on *:3389. A login
#  (PAM) makes sesman start, as the user, Xorg :10 (xorgxrdp, log ~/.xorgxrdp.10.log) and
#  /etc/xrdp/startwm.sh -> /etc/X11/Xsession -> hangar-desktop-session; the session ends when
#  twm exits. A wrong password leaves the client on xrdp's own login dialog: no RDP error.)
#
# Caching / idempotency:
#   * Each image has a recipe hash (suite, mirror, package list, and the bodies of the shell
#     functions that customise the rootfs). The image carries it as label hangar.recipe.
#   * If the tag exists in dockerd with the same hangar.recipe label: nothing to do.
#   * Else if ~/.cache/hangar/images/<name>-<hash>.tar.gz exists: only `docker import` (seconds).
#   * Else the rootfs is built (debootstrap for ssh; the jupyter, desktop and rdp rootfs are the
#     ssh tarball unpacked, plus `apt-get install` in a chroot), tarred into the cache, then
#     imported (and, for jupyter, desktop and rdp, started and checked as described above).
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
DESKTOP_TAG=hangar-test/desktop:latest
RDP_TAG=hangar-test/rdp:latest
# The light desktop both remote-desktop images share (see write_desktop_session).
SESSION_PACKAGES="twm xterm x11-apps fonts-dejavu-core"
# tigervnc-tools holds vncpasswd (tigervnc-common only has vncconfig and the config files).
DESKTOP_PACKAGES="tigervnc-standalone-server tigervnc-common tigervnc-tools $SESSION_PACKAGES"
# xauth: xrdp-sesman writes the session's ~/.Xauthority with it, but no xrdp package depends on it.
RDP_PACKAGES="xrdp xorgxrdp xauth $SESSION_PACKAGES"
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
# Mirror: see detect_debian_mirror in lib.sh.
MIRROR=$(detect_debian_mirror "$SUITE")
MIRROR=${MIRROR%/}

# ---------------------------------------------------------------------------------------------
# Rootfs customisation (their bodies are part of the recipe hashes).

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

# The desktop session of the desktop and rdp images: /usr/local/bin/hangar-desktop-session,
# registered as x-session-manager, so /etc/X11/Xsession (which xrdp's startwm.sh runs) starts it.
write_desktop_session() {
  local root=$1
  cat >"$root/usr/local/bin/hangar-desktop-session" <<'X'
#!/bin/sh
# Hangar test desktop: sea-green (#2e8b57) root window, a navy xterm, a clock, twm.
# The root colour is set through libX11 from python3: xsetroot's package would pull in cpp (~38 MB).
python3 - <<'PY' || true
import ctypes
x = ctypes.CDLL("libX11.so.6")
x.XOpenDisplay.restype = ctypes.c_void_p
x.XDefaultRootWindow.argtypes = [ctypes.c_void_p]
x.XDefaultRootWindow.restype = ctypes.c_ulong
x.XSetWindowBackground.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_ulong]
x.XClearWindow.argtypes = [ctypes.c_void_p, ctypes.c_ulong]
x.XCloseDisplay.argtypes = [ctypes.c_void_p]
d = x.XOpenDisplay(None)
if d:
    r = x.XDefaultRootWindow(d)
    x.XSetWindowBackground(d, r, 0x2E8B57)  # a TrueColor pixel: Xvnc and xorgxrdp run at depth 24
    x.XClearWindow(d, r)
    x.XCloseDisplay(d)
PY
xclock -geometry 160x160-16+16 &
xterm -T hangar-desktop -geometry 90x24+48+48 -bg navy -fg yellow -fa 'DejaVu Sans Mono' -fs 11 &
# twm draws with core X fonts only: in a UTF-8 locale it asks for a fontset that no package here
# provides and exits at once; in the C locale it makes do with the server's built-in "fixed".
LANG=C LC_ALL=C exec twm
X
  chmod 0755 "$root/usr/local/bin/hangar-desktop-session"
  in_chroot "$root" update-alternatives --install /usr/bin/x-session-manager x-session-manager \
    /usr/local/bin/hangar-desktop-session 90
}

customize_desktop() {
  local root=$1
  # shellcheck disable=SC2086 # word splitting of the package list is intended
  in_chroot "$root" apt-get install -y -q --no-install-recommends $DESKTOP_PACKAGES
  write_desktop_session "$root"
}

customize_rdp() {
  local root=$1
  guard_root "$root"
  # shellcheck disable=SC2086 # word splitting of the package list is intended
  in_chroot "$root" apt-get install -y -q --no-install-recommends $RDP_PACKAGES
  write_desktop_session "$root"
  # xrdp runs as user xrdp and reads its TLS key (/etc/xrdp/key.pem -> the snakeoil key, mode
  # 0640 root:ssl-cert): without this group it silently falls back to RDP standard security.
  in_chroot "$root" usermod -a -G ssl-cert xrdp
  # No keys baked into the image (like the ssh image's host keys): the RDP standard-security
  # RSA keys and the snakeoil TLS certificate that xrdp's/ssl-cert's postinst generated are
  # removed; the start commands in the header regenerate them per container.
  rm -f "${root:?}"/etc/xrdp/rsakeys.ini "${root:?}"/etc/ssl/private/ssl-cert-snakeoil.key \
    "${root:?}"/etc/ssl/certs/ssl-cert-snakeoil.pem
  find "$root/etc/ssl/certs" -xtype l -lname '*ssl-cert-snakeoil*' -delete
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
# shellcheck source=SCRIPTDIR/chroot.sh
source "$here/chroot.sh"
WORK_PARENT=$IMAGES_DIR

# ---------------------------------------------------------------------------------------------
# Recipes and cache paths.
sha() { sha256sum | cut -c1-64; }
SSH_RECIPE=$(
  {
    echo "ssh v1 $SUITE minbase $MIRROR"
    files_hash "$here/build-images.sh" "$here/chroot.sh" "$here/lib.sh"
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
DESKTOP_RECIPE=$(
  {
    echo "desktop v1 from ssh $SSH_RECIPE"
    echo "$DESKTOP_PACKAGES"
    declare -f customize_desktop write_desktop_session clean_rootfs
  } | sha
)
RDP_RECIPE=$(
  {
    echo "rdp v1 from ssh $SSH_RECIPE"
    echo "$RDP_PACKAGES"
    declare -f customize_rdp write_desktop_session clean_rootfs
  } | sha
)
SSH_TAR="$IMAGES_DIR/ssh-${SSH_RECIPE:0:16}.tar.gz"
JUPYTER_TAR="$IMAGES_DIR/jupyter-${JUPYTER_RECIPE:0:16}.tar.gz"
DESKTOP_TAR="$IMAGES_DIR/desktop-${DESKTOP_RECIPE:0:16}.tar.gz"
RDP_TAR="$IMAGES_DIR/rdp-${RDP_RECIPE:0:16}.tar.gz"

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

# build_derived_tar NAME TARBALL CUSTOMIZE_FN: the ssh rootfs unpacked, then `apt-get update`
# and CUSTOMIZE_FN in a chroot, cleaned and tarred to TARBALL (log: customize-NAME.log).
build_derived_tar() {
  local name=$1 tarball=$2 customize=$3
  [[ -f $tarball ]] && return 0
  build_ssh_tar
  note "derive $name rootfs from $SSH_TAR"
  local work root
  work=$(new_workdir)
  root="$work/rootfs"
  mkdir -p "$root"
  tar --numeric-owner --xattrs --xattrs-include='security.capability' -C "$root" -xzf "$SSH_TAR"
  chroot_enter "$root"
  CHROOT_LOG="$IMAGES_DIR/customize-$name.log"
  : >"$CHROOT_LOG"
  in_chroot "$root" apt-get update -q
  "$customize" "$root"
  in_chroot "$root" apt-get clean
  chroot_leave "$root"
  clean_rootfs "$root"
  note "tar $name rootfs"
  tar_rootfs "$root" "$tarball"
  rm -rf --one-file-system "$work"
}

build_jupyter_tar() { build_derived_tar jupyter "$JUPYTER_TAR" customize_jupyter; }
build_desktop_tar() { build_derived_tar desktop "$DESKTOP_TAR" customize_desktop; }
build_rdp_tar() { build_derived_tar rdp "$RDP_TAR" customize_rdp; }

image_recipe() {
  "$DOCKER" image inspect -f '{{index .Config.Labels "hangar.recipe"}}' "$1" 2>/dev/null || true
}

# image_current TAG RECIPE TARBALL: the tag carries this recipe and this cache holds its tarball,
# so an empty HANGAR_CACHE_DIR always exercises the build (a dockerd's old images can't hide it).
image_current() {
  [[ $(image_recipe "$1") == "$2" && -f $3 ]]
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

# container_ip CID: the container's address on the default bridge (the host talks to nothing else).
container_ip() {
  "$DOCKER" inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$1"
}

# verify_failed TAG MESSAGE: untags the image just imported (so that the next run imports and
# verifies it again instead of finding its recipe label up to date), then dies.
verify_failed() {
  "$DOCKER" rmi "$1" >/dev/null 2>&1 || true
  die "$2"
}

# verify_in_container TAG LABEL SCRIPT SECRET: runs SCRIPT as root with `sh -e` in a fresh container
# of TAG (SECRET on its stdin) and echoes the container id; on failure dies with the script's output.
verify_in_container() {
  local tag=$1 label=$2 script=$3 secret=$4 cid out
  cid=$("$DOCKER" run -d "$tag" sleep infinity)
  if ! out=$(printf '%s\n' "$secret" | "$DOCKER" exec -i "$cid" sh -ec "$script" 2>&1); then
    printf '%s\n' "$out" | tail -n 30 >&2
    "$DOCKER" rm -f "$cid" >/dev/null
    verify_failed "$tag" "$label: the start commands failed in $tag"
  fi
  echo "$cid"
}

# The documented Xvnc start (header) as a useradd-made user, then the session; checks that twm,
# xterm and xclock run on :1 and that the host, via the bridge IP, gets the RFB 3.8 banner and
# VncAuth (type 2) as the only security type.
verify_desktop() {
  local pw cid ip reply script
  pw=$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n' | cut -c1-8)
  script=$(cat <<'X'
U=hangar
useradd -m -s /bin/bash "$U"
install -d -m 1777 /tmp/.X11-unix
su -s /bin/sh "$U" -c 'umask 077 && mkdir -p "$HOME/.vnc" && vncpasswd -f >"$HOME/.vnc/passwd"'
[ "$(stat -c %s "/home/$U/.vnc/passwd")" = 8 ] || { echo "vncpasswd -f wrote no password"; exit 1; }
su -s /bin/sh "$U" -c 'exec Xvnc :1 -rfbport 5901 -rfbauth "$HOME/.vnc/passwd" -SecurityTypes VncAuth -localhost=0 -geometry 1280x800 -depth 24 >/tmp/xvnc.log 2>&1' </dev/null &
i=0; until [ -S /tmp/.X11-unix/X1 ]; do i=$((i + 1)); [ $i -lt 100 ] || { cat /tmp/xvnc.log; exit 1; }; sleep 0.1; done
su -s /bin/sh "$U" -c 'DISPLAY=:1 exec /etc/X11/Xsession' </dev/null >/dev/null 2>&1 &
i=0; until pgrep -u "$U" -x twm >/dev/null && pgrep -u "$U" -x xterm >/dev/null && pgrep -u "$U" -x xclock >/dev/null; do
  i=$((i + 1)); [ $i -lt 100 ] || { ps -ef; cat "/home/$U/.xsession-errors"; exit 1; }; sleep 0.1
done
X
  )
  cid=$(verify_in_container "$DESKTOP_TAG" "Xvnc + desktop session" "$script" "$pw")
  ip=$(container_ip "$cid")
  # shellcheck disable=SC2016 # $1 is expanded by the inner bash
  reply=$(timeout 5 bash -c 'exec 3<>"/dev/tcp/$1/5901" && head -c 12 <&3 && printf "RFB 003.008\n" >&3 &&
    head -c 2 <&3 | od -An -tu1' _ "$ip" 2>&1 | tr -s ' \n' ' ' || true)
  "$DOCKER" rm -f "$cid" >/dev/null
  [[ $reply == 'RFB 003.008 1 2 ' ]] ||
    verify_failed "$DESKTOP_TAG" "Xvnc in $DESKTOP_TAG: $ip:5901 from the host answered '$reply' (expected 'RFB 003.008', VncAuth only)"
}

# The documented xrdp start (header): user password, per-container keys, xrdp-sesman and xrdp;
# the host sends an X.224 Connection Request asking for TLS|CredSSP to the bridge IP's port 3389
# and expects a Connection Confirm that selects TLS (which needs xrdp to read its key).
verify_rdp() {
  local pw cid ip reply script
  pw=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
  script=$(cat <<'X'
U=hangar
useradd -m -s /bin/bash "$U"
read -r pw && echo "$U:$pw" | chpasswd
sh /usr/share/xrdp/socksetup
touch /var/log/xrdp.log && chown xrdp:adm /var/log/xrdp.log
[ -s /etc/xrdp/rsakeys.ini ] || { (umask 077 && xrdp-keygen xrdp auto >/dev/null) && chown xrdp /etc/xrdp/rsakeys.ini; }
[ -s /etc/ssl/private/ssl-cert-snakeoil.key ] || DEBIAN_FRONTEND=noninteractive make-ssl-cert generate-default-snakeoil
xrdp-sesman --nodaemon </dev/null >/tmp/xrdp-sesman.out 2>&1 &
start-stop-daemon --start --chuid xrdp:xrdp --exec /usr/sbin/xrdp -- --nodaemon </dev/null >/tmp/xrdp.out 2>&1 &
i=0; until ss -Hltn 'sport = :3389' | grep -q . && ss -Hltn 'sport = :3350' | grep -q .; do
  i=$((i + 1)); [ $i -lt 100 ] || { tail -n 20 /tmp/xrdp*.out /var/log/xrdp*.log; exit 1; }; sleep 0.1
done
X
  )
  cid=$(verify_in_container "$RDP_TAG" "xrdp" "$script" "$pw")
  ip=$(container_ip "$cid")
  # shellcheck disable=SC2016 # $1 is expanded by the inner bash
  reply=$(timeout 5 bash -c 'exec 3<>"/dev/tcp/$1/3389" &&
    printf "\x03\x00\x00\x13\x0e\xe0\x00\x00\x00\x00\x00\x01\x00\x08\x00\x03\x00\x00\x00" >&3 &&
    head -c 19 <&3 | od -An -tx1' _ "$ip" 2>&1 | tr -s ' \n' ' ' || true)
  "$DOCKER" rm -f "$cid" >/dev/null
  # TPKT 03 00, X.224 CC (d0), RDP_NEG_RSP (02) selecting PROTOCOL_SSL (01).
  [[ $reply =~ ^\ 03\ 00\ ..\ ..\ ..\ d0(\ ..){5}\ 02(\ ..){3}\ 01\  ]] ||
    verify_failed "$RDP_TAG" "xrdp in $RDP_TAG: $ip:3389 from the host answered '$reply' (expected an X.224 Connection Confirm selecting TLS)"
}

prune_cache() {
  local f
  for f in "$IMAGES_DIR"/ssh-*.tar.gz; do [[ -e $f && $f != "$SSH_TAR" ]] && rm -f "$f"; done
  for f in "$IMAGES_DIR"/jupyter-*.tar.gz; do [[ -e $f && $f != "$JUPYTER_TAR" ]] && rm -f "$f"; done
  for f in "$IMAGES_DIR"/desktop-*.tar.gz; do [[ -e $f && $f != "$DESKTOP_TAR" ]] && rm -f "$f"; done
  for f in "$IMAGES_DIR"/rdp-*.tar.gz; do [[ -e $f && $f != "$RDP_TAR" ]] && rm -f "$f"; done
  rm -rf --one-file-system "$IMAGES_DIR"/work.* "$IMAGES_DIR"/*.partial 2>/dev/null || true
}

# ---------------------------------------------------------------------------------------------
# Stale work dirs / partial tarballs from an interrupted run.
prune_cache

if ! image_current "$SSH_TAG" "$SSH_RECIPE" "$SSH_TAR"; then
  build_ssh_tar
  import_image "$SSH_TAG" "$SSH_RECIPE" "$SSH_TAR"
fi

if ! image_current "$JUPYTER_TAG" "$JUPYTER_RECIPE" "$JUPYTER_TAR"; then
  build_jupyter_tar
  import_image "$JUPYTER_TAG" "$JUPYTER_RECIPE" "$JUPYTER_TAR"
  verify_jupyter
fi

if ! image_current "$DESKTOP_TAG" "$DESKTOP_RECIPE" "$DESKTOP_TAR"; then
  build_desktop_tar
  import_image "$DESKTOP_TAG" "$DESKTOP_RECIPE" "$DESKTOP_TAR"
  verify_desktop
fi

if ! image_current "$RDP_TAG" "$RDP_RECIPE" "$RDP_TAR"; then
  build_rdp_tar
  import_image "$RDP_TAG" "$RDP_RECIPE" "$RDP_TAR"
  verify_rdp
fi
