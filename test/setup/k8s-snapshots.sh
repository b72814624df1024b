#!/usr/bin/env bash
# The Kubernetes snapshot API on the RUNNING test cluster (test/setup/k8s-cluster.sh up first):
# the snapshot.storage.k8s.io/v1 CRDs (VolumeSnapshotClass, VolumeSnapshot, VolumeSnapshotContent)
# and the real external snapshot-controller, both from github.com/kubernetes-csi/external-snapshotter
# v8.7.0 on the Go module proxy. Applied idempotently; the cluster itself is never restarted.
#
#   test/setup/k8s-snapshots.sh [up]   build (cached), apply the CRDs, start the controller
#   test/setup/k8s-snapshots.sh stop   stop the controller this script started
#
# The module has a local replace (client/v8 => ./client), so `go install` can't build it: a wrapper
# module requires external-snapshotter/v8 and client/v8 at the same version and copies the main
# module's k8s.io replaces. The CRD YAMLs come from the client module's config/crd.
# Cached under $HANGAR_CACHE_DIR/k8s-snapshots/bin-<recipe hash>; the controller runs detached
# (setsid), talks only to the cluster's API server on 127.0.0.1, leader election off, log in
# $HANGAR_CACHE_DIR/k8s-snapshots/snapshot-controller.log.
# What it can't do here: no CSI driver exists on kwok, so no csi-snapshotter sidecar runs; a
# VolumeSnapshotContent stays not ready unless a test runs test/doubles/csi-snapshotter.ts.
set -euo pipefail
[[ -x /usr/local/go/bin/go ]] && PATH="/usr/local/go/bin:$PATH"
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=SCRIPTDIR/lib.sh
source "$here/lib.sh"

SNAPSHOTTER_VERSION=v8.7.0
DIR=$HANGAR_CACHE/k8s-snapshots
KUBECONFIG_FILE=${KUBECONFIG:-$HANGAR_CACHE/k8s/kubeconfig}
KUBECTL=$HANGAR_CACHE/k8s/bin/current/kubectl
[[ -x $KUBECTL ]] || KUBECTL=kubectl
BUILD_LOG=$DIR/build.log
PID=$DIR/snapshot-controller.pid
LOG=$DIR/snapshot-controller.log
MOD_DIR=$DIR/src

GO_ENV=(
  GOPATH="$HANGAR_CACHE/go" GOMODCACHE="$HANGAR_CACHE/go/pkg/mod" GOCACHE="$HANGAR_CACHE/go/cache"
  GOFLAGS="-mod=mod -buildvcs=false -p=1" GOTOOLCHAIN=local CGO_ENABLED=0 GOWORK=off
)

recipe() {
  {
    echo "external-snapshotter $SNAPSHOTTER_VERSION $(go env GOVERSION)"
    declare -f build write_gomod
  } | sha256sum | cut -c1-12
}

# The wrapper's go.mod: both modules at one version, the upstream k8s.io replaces copied.
write_gomod() {
  local upstream
  upstream=$(env "${GO_ENV[@]}" go mod download -json \
    "github.com/kubernetes-csi/external-snapshotter/v8@$SNAPSHOTTER_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
  [[ -f $upstream ]] || die "no go.mod for external-snapshotter $SNAPSHOTTER_VERSION"
  {
    printf 'module hangar.test/snapshot-controller-build\n\ngo 1.26.0\n\n'
    printf 'require (\n\tgithub.com/kubernetes-csi/external-snapshotter/v8 %s\n' "$SNAPSHOTTER_VERSION"
    printf '\tgithub.com/kubernetes-csi/external-snapshotter/client/v8 %s\n)\n\n' "$SNAPSHOTTER_VERSION"
    grep -E '^replace k8s\.io/' "$upstream"
  } >"$MOD_DIR/go.mod"
}

build() {
  local out=$1
  mkdir -p "$MOD_DIR"
  write_gomod
  rm -f "$MOD_DIR/go.sum"
  (cd "$MOD_DIR" && env "${GO_ENV[@]}" nice -n 10 go build -trimpath -ldflags "-s -w" -o "$out/snapshot-controller" \
    github.com/kubernetes-csi/external-snapshotter/v8/cmd/snapshot-controller) >>"$BUILD_LOG" 2>&1 ||
    fail_with_log "$BUILD_LOG" "building snapshot-controller failed"
  local crd
  crd=$(cd "$MOD_DIR" && env "${GO_ENV[@]}" go list -m -f '{{.Dir}}' \
    github.com/kubernetes-csi/external-snapshotter/client/v8)/config/crd
  cp "$crd"/snapshot.storage.k8s.io_*.yaml "$out/"
}

cmd_up() {
  command -v go >/dev/null || die "go not found"
  [[ -s $KUBECONFIG_FILE ]] || die "no kubeconfig at $KUBECONFIG_FILE (run test/setup/k8s-cluster.sh up first)"
  mkdir -p "$DIR"
  exec 9>"$DIR/up.lock"
  flock 9
  local bin
  bin=$DIR/bin-$(recipe)
  if [[ ! -x $bin/snapshot-controller ]]; then
    note "building snapshot-controller $SNAPSHOTTER_VERSION (log: $BUILD_LOG)"
    rm -rf "$bin.partial" && mkdir -p "$bin.partial"
    build "$bin.partial"
    rm -rf "$bin" && mv "$bin.partial" "$bin"
  fi
  # apply is idempotent: unchanged CRDs are left as they are.
  KUBECONFIG=$KUBECONFIG_FILE "$KUBECTL" apply --server-side --force-conflicts \
    -f "$bin/snapshot.storage.k8s.io_volumesnapshotclasses.yaml" \
    -f "$bin/snapshot.storage.k8s.io_volumesnapshotcontents.yaml" \
    -f "$bin/snapshot.storage.k8s.io_volumesnapshots.yaml" >"$DIR/apply.log" 2>&1 ||
    fail_with_log "$DIR/apply.log" "applying the snapshot CRDs failed"
  KUBECONFIG=$KUBECONFIG_FILE "$KUBECTL" wait --for condition=Established --timeout=60s \
    crd/volumesnapshots.snapshot.storage.k8s.io crd/volumesnapshotcontents.snapshot.storage.k8s.io \
    crd/volumesnapshotclasses.snapshot.storage.k8s.io >>"$DIR/apply.log" 2>&1 ||
    fail_with_log "$DIR/apply.log" "the snapshot CRDs did not become established"
  local state="$bin/snapshot-controller $KUBECONFIG_FILE"
  if [[ -f $PID ]] && kill -0 "$(cat "$PID")" 2>/dev/null; then
    [[ $(cat "$DIR/state" 2>/dev/null) == "$state" ]] && return 0
    kill "$(cat "$PID")" 2>/dev/null || true
    sleep 1
  fi
  # 9>&-: the controller must not hold the lock forever.
  setsid "$bin/snapshot-controller" --kubeconfig="$KUBECONFIG_FILE" --leader-election=false \
    --http-endpoint=127.0.0.1:16290 --v=3 >"$LOG" 2>&1 9>&- </dev/null &
  echo $! >"$PID"
  printf '%s\n' "$state" >"$DIR/state"
  sleep 2
  kill -0 "$(cat "$PID")" 2>/dev/null || fail_with_log "$LOG" "snapshot-controller exited"
}

cmd_stop() {
  if [[ -f $PID ]]; then kill "$(cat "$PID")" 2>/dev/null || true; fi
  rm -f "$PID" "$DIR/state"
}

case ${1:-up} in
  up) cmd_up ;;
  stop) cmd_stop ;;
  *) die "usage: $0 [up|stop]" ;;
esac
