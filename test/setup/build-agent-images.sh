#!/usr/bin/env bash
# Builds the images without OpenSSH that the agent tests use (no registry, no network):
#   hangar-test/agent-python:latest   the jupyter test image (Debian minbase + python3 + Jupyter from Debian
#                                     packages, build-images.sh) with openssh-server and openssh-sftp-server
#                                     purged: python3 and Jupyter, no sshd, no sftp-server.
#   hangar-test/agent-busybox:latest  only Debian's busybox-static (/bin/busybox and its applet links), an
#                                     empty /etc: no passwd, no group, no useradd, no sshd.
# Each is cached as a tarball under $HANGAR_CACHE_DIR/agent-images/<hash>/ (the hash covers this script, lib.sh,
# the jupyter image's recipe label and the busybox binary) and re-imported only when dockerd lacks that recipe.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=SCRIPTDIR/lib.sh
source "$here/lib.sh"
need_root
docker_up || die "docker does not answer on /var/run/docker.sock (run start-dockerd.sh)"
bash "$here/build-images.sh"
[[ -x /bin/busybox ]] || die "/bin/busybox missing: install busybox-static (install-packages.sh)"

base_recipe=$("$DOCKER" image inspect -f '{{index .Config.Labels "hangar.recipe"}}' hangar-test/jupyter:latest)
hash=$( (files_hash "$here/build-agent-images.sh" "$here/lib.sh" /bin/busybox; echo "$base_recipe") | sha256sum | cut -c1-16)
dir="$HANGAR_CACHE/agent-images/$hash"
mkdir -p "$HANGAR_CACHE/agent-images"
exec 9>"$HANGAR_CACHE/agent-images/.lock"
flock 9

current() { [[ $("$DOCKER" image inspect -f '{{index .Config.Labels "hangar.recipe"}}' "$1" 2>/dev/null) == "$hash" ]]; }

build_python() {
  local c="hangar-agent-image-build-$$"
  "$DOCKER" rm -f "$c" >/dev/null 2>&1 || true
  run_logged "$dir/python.log" "$DOCKER" run --name "$c" --network none --entrypoint /bin/sh hangar-test/jupyter:latest -c \
    'dpkg --purge openssh-server openssh-sftp-server >/dev/null && ! command -v sshd && test ! -e /usr/sbin/sshd && python3 -c "import jupyter_server"'
  "$DOCKER" export "$c" | gzip -1 >"$dir/python.tar.gz.tmp"
  "$DOCKER" rm -f "$c" >/dev/null
  mv "$dir/python.tar.gz.tmp" "$dir/python.tar.gz"
}

build_busybox() {
  local root
  root=$(mktemp -d)
  mkdir -p "$root/bin" "$root/etc" "$root/tmp" "$root/root" "$root/home"
  chmod 1777 "$root/tmp"
  cp /bin/busybox "$root/bin/busybox"
  local applet
  for applet in $(/bin/busybox --list); do
    [[ $applet == busybox ]] || ln -s busybox "$root/bin/$applet"
  done
  tar -C "$root" -czf "$dir/busybox.tar.gz.tmp" .
  rm -rf "$root"
  mv "$dir/busybox.tar.gz.tmp" "$dir/busybox.tar.gz"
}

import() {
  local tag=$1 tarball=$2 shell=$3
  run_logged "$dir/import.log" "$DOCKER" import \
    --change "CMD [\"$shell\"]" \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change "LABEL hangar.recipe=$hash" "$tarball" "$tag"
}

mkdir -p "$dir"
if ! current hangar-test/agent-python:latest; then
  [[ -f $dir/python.tar.gz ]] || build_python
  import hangar-test/agent-python:latest "$dir/python.tar.gz" /bin/bash
fi
if ! current hangar-test/agent-busybox:latest; then
  [[ -f $dir/busybox.tar.gz ]] || build_busybox
  import hangar-test/agent-busybox:latest "$dir/busybox.tar.gz" /bin/sh
fi
