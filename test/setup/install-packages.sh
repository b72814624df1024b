#!/usr/bin/env bash
# Installs the Debian packages the Hangar tests need, only when missing.
# Idempotent: when everything is installed it only runs dpkg-query (fast, no apt-get update).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=SCRIPTDIR/lib.sh
source "$here/lib.sh"
need_root

packages=(
  docker.io              # dockerd, containerd, runc, /usr/bin/docker (client without BuildKit requirement)
  iptables               # dockerd's bridge networking / port publishing
  debootstrap            # build-images.sh builds rootfs tarballs with it
  debian-archive-keyring # debootstrap verifies the Release signature with it
  openssh-client
  openssh-server
  iproute2
  ca-certificates
  curl
  gzip
  tar
  coreutils              # sha256sum, timeout
  procps                 # pgrep/ps used to spot a running dockerd
  unzip                  # the UI test lists what the .vsix holds
  openssl                # test/setup/k8s-cluster.sh makes the cluster's certificates
  util-linux             # setsid, flock
  shellcheck             # npm run test:unit lints the shell scripts
  python3-venv           # npm run test:api installs schemathesis into a venv (test/setup/schemathesis.sh)
  # libvirt driver test bed (start-libvirtd.sh, build-vm-image.sh):
  libvirt-daemon-system  # libvirtd, virtlogd, the libvirt-qemu user, /etc/libvirt/*.conf
  libvirt-daemon-system-sysv # picks the sysv alternative of the above (the systemd one pulls systemd-container)
  libvirt-clients        # virsh
  qemu-system-x86        # qemu-system-x86_64 (TCG here: no nested KVM), seabios, ipxe-qemu (virtio-net ROM)
  qemu-utils             # qemu-img (qcow2 template, overlays)
  genisoimage            # NoCloud seed ISOs (volume id cidata)
  e2fsprogs              # mke2fs -d: the VM template's ext4 root without a loop mount
  # storage tests (start-nfs.sh): a user-space NFS server and client (this kernel has neither)
  nfs-ganesha            # ganesha.nfsd, serving a directory on 127.0.0.1
  nfs-ganesha-vfs        # its VFS back end (exports a local directory)
  libnfs-utils           # nfs-ls, nfs-cat, nfs-cp: the tests read and write the export through NFS
  # datasets (start-s3.sh, FUSE mounts on the host side) and the agent tests (busybox-only image):
  fuse3                  # fusermount3, /etc/fuse.conf: host-side FUSE mounts of datasets
  s3fs                   # s3fs-fuse: mounts a dataset's bucket+prefix on the host, bound into the env
  rclone                 # rclone mount / sync: the other FUSE client, and sync into a volume where FUSE is missing
  busybox-static         # the agent tests' busybox-only image (no OpenSSH, no package manager)
  qemu-user-static       # runs the linux/arm64 hangar-agent in the agent tests (no arm64 CPU here)
)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ $status == "install ok installed" ]] || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

note "installing: ${missing[*]}"
mkdir -p "$HANGAR_CACHE"
log="$HANGAR_CACHE/install-packages.log"
export DEBIAN_FRONTEND=noninteractive
run_logged "$log" apt-get update -q </dev/null
run_logged "$log" apt-get install -y -q --no-install-recommends \
  -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
  "${missing[@]}" </dev/null
