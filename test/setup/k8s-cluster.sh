#!/usr/bin/env bash
# A real Kubernetes control plane for Hangar's Kubernetes tests, on 127.0.0.1 only, with fake
# (kwok-managed) GPU nodes. No container registry and no release downloads: every binary is
# built from the Go module proxy.
#
#   test/setup/k8s-cluster.sh [up]   build (if needed), start what is not healthy, apply the
#                                    nodes/StorageClass, wait for Ready nodes + default SA
#   test/setup/k8s-cluster.sh build  only build the binaries (cached)
#   test/setup/k8s-cluster.sh stop   stop every process this script started (state is kept)
#   test/setup/k8s-cluster.sh reset  stop and delete the cluster state (etcd data)
#   test/setup/k8s-cluster.sh status what runs (pid, port, health); exit 1 unless all healthy
#   test/setup/k8s-cluster.sh env    print `export KUBECONFIG=...` and `export PATH=...`
#   test/setup/k8s-cluster.sh verify end-to-end smoke check (test/setup/k8s/verify.sh)
# Timings on 2 cores: cold build ~9 min (module downloads included), warm rebuild ~15 s;
# `up` from nothing ~10 s, from stopped ~4 s, when already up ~1 s; `stop` ~1.5 s.
# A component whose build or arguments changed is restarted by `up` (etcd or the apiserver:
# the whole cluster, in order).
#
# Pinned versions (cached under ~/.cache/hangar/k8s/bin/<name>-<version>-<recipe hash>):
#   Kubernetes v1.37.2: kube-apiserver, kube-controller-manager, kube-scheduler, kubectl, built
#     from a wrapper module (test/setup/k8s/gomod-kubernetes.sh writes its go.mod) that requires
#     k8s.io/kubernetes and replaces every staging module (required there as v0.0.0) with the
#     published v0.37.2; the godebug line is copied from k8s.io/kubernetes's go.mod.
#   etcd v3.7.0: go.etcd.io/etcd/server/v3 (a main package), built in the same wrapper module, so
#     it is the version k8s.io/kubernetes v1.37.2 itself requires and shares its compiled deps.
#   kwok v0.8.0: sigs.k8s.io/kwok/cmd/kwok from its own wrapper module (no replaces).
#   All: CGO_ENABLED=0 -trimpath, GOFLAGS=-mod=mod, GOTOOLCHAIN=local (Go 1.26), GOPATH and
#   GOCACHE under ~/.cache/hangar/go. Build log: ~/.cache/hangar/k8s/build.log.
#
# Listens on 127.0.0.1 only (HANGAR_K8S_PORT_BASE moves them all; default 16000):
#   etcd client http 16379, etcd peer 16380, kube-apiserver https 16443,
#   kube-controller-manager https 16257, kube-scheduler https 16259, kwok https 16250 (the fake
#   kubelet API every fake node advertises: the apiserver dials 127.0.0.1 for logs/exec/
#   port-forward, only node InternalIPs, never a hostname or another address).
#   Pod IPs (10.244.0.0/16, written by kwok) and Service IPs (10.96.0.0/16) are status/config
#   values only: nothing routes them; never dial them.
#
# Files (under ~/.cache/hangar/k8s):
#   kubeconfig   admin (client cert in system:masters, embedded), server https://127.0.0.1:16443
#   pki/         CA, serving and client certs, front-proxy CA, service-account key pair (openssl)
#   logs/        one log per process (+ apply.log); run/ pid and argument files; data/etcd
#   bin/current/ symlinks to the pinned builds (kubectl, kube-apiserver, ..., etcd, kwok)
#
# What the cluster holds after `up` (test/setup/k8s/nodes.yaml, storage.yaml):
#   nodes gpu-a100-0, gpu-a100-1 (8 x nvidia.com/gpu, A100-SXM4-80GB), gpu-h100-0 (8 x H100),
#   gpu-a100-mig-0 (MIG mixed strategy: nvidia.com/mig-1g.10gb: 7, ...), cpu-0; all annotated
#   kwok.x-k8s.io/node=fake, no taints. kwok keeps them Ready (node Leases) and runs their pods:
#   a bound pod goes Running at once, a pod owned by a Job goes Succeeded (k8s/kwok-stages.yaml).
#   StorageClasses hangar-test-expandable (allowVolumeExpansion) and the Ceph stand-ins
#   hangar-test-cephfs / hangar-test-ceph-rbd (k8s/ceph-standin.yaml), all host-path, Immediate.
#   StorageClass "standard" (default, WaitForFirstConsumer) uses the in-tree
#   kubernetes.io/host-path provisioner (kube-controller-manager --enable-hostpath-provisioner):
#   PVCs bind; each volume is an empty dir /tmp/hostpath_pv/<uuid>, removed with its PVC.
#   `kubectl logs/attach` fail (kwok has no such config), and exec unless a kwok Exec object for the pod
#   runs its containers' commands locally (k8s/kwok-crd-execs.yaml); port-forward fails with
#   `no forward found for port N in pod "ns/name"` unless a kwok PortForward object for the pod
#   routes the port to a server on 127.0.0.1 (k8s/kwok-crd-portforwards.yaml).
#
# Idempotent and quiet unless something fails (HANGAR_SETUP_VERBOSE=1 prints progress); prints
# one line with the seconds taken. Processes run detached (setsid, inherited fds closed).
set -euo pipefail
# The Go toolchain of this kind of machine lives in /usr/local/go; CI may not have it on PATH.
[[ -x /usr/local/go/bin/go ]] && PATH="/usr/local/go/bin:$PATH"
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=SCRIPTDIR/lib.sh
source "$here/lib.sh"

K8S_VERSION=v1.37.2
ETCD_VERSION=v3.7.0 # must equal what k8s.io/kubernetes $K8S_VERSION requires (checked)
KWOK_VERSION=v0.8.0

K8S_HOME=$HANGAR_CACHE/k8s
BIN_ROOT=$K8S_HOME/bin
PKI=$K8S_HOME/pki
LOGS=$K8S_HOME/logs
RUN=$K8S_HOME/run
DATA=$K8S_HOME/data
KUBECONFIG_FILE=$K8S_HOME/kubeconfig
BUILD_LOG=$K8S_HOME/build.log

PORT_BASE=${HANGAR_K8S_PORT_BASE:-16000}
ETCD_PORT=$((PORT_BASE + 379))
ETCD_PEER_PORT=$((PORT_BASE + 380))
API_PORT=$((PORT_BASE + 443))
KCM_PORT=$((PORT_BASE + 257))
SCHED_PORT=$((PORT_BASE + 259))
KWOK_PORT=$((PORT_BASE + 250))
HOST=127.0.0.1
API_URL=https://$HOST:$API_PORT
SERVICE_CIDR=10.96.0.0/16 # a config value only: nothing routes or dials it
POD_CIDR=10.244.0.0/16    # kwok writes pod IPs from it into pod status: never dial them

GO_ENV=(
  GOPATH="$HANGAR_CACHE/go" GOMODCACHE="$HANGAR_CACHE/go/pkg/mod" GOCACHE="$HANGAR_CACHE/go/cache"
  GOFLAGS="-mod=mod -buildvcs=false" GOTOOLCHAIN=local CGO_ENABLED=0 GOWORK=off
)

# =============================================================================================
# Build
# =============================================================================================
sha() { sha256sum | cut -c1-12; }

# The recipe hashes cover versions, the go.mod generator and the build commands, so a change
# to any of them builds into a new directory (a warm Go cache makes that quick).
k8s_recipe() {
  {
    echo "k8s $K8S_VERSION etcd $ETCD_VERSION $(go env GOVERSION)"
    cat "$here/k8s/gomod-kubernetes.sh"
    declare -f build_k8s gorun
  } | sha
}
kwok_recipe() {
  {
    echo "kwok $KWOK_VERSION $(go env GOVERSION)"
    declare -f build_kwok gorun
  } | sha
}

K8S_BINS=(kube-apiserver kube-controller-manager kube-scheduler kubectl etcd)

# Runs a build step with the Go environment, appending output to the build log.
gorun() {
  local dir=$1; shift
  echo "==== $(date -u +%FT%TZ) ($dir) $*" >>"$BUILD_LOG"
  if ! (cd "$dir" && env "${GO_ENV[@]}" "$@") >>"$BUILD_LOG" 2>&1; then
    echo "$(basename "$0"): build command failed: $*" >&2
    echo "---- last 40 lines of $BUILD_LOG ----" >&2
    tail -n 40 "$BUILD_LOG" >&2
    exit 1
  fi
}

build_k8s() {
  local out=$1 mod=$K8S_HOME/src/kubernetes-$K8S_VERSION minor pkg ldflags
  mkdir -p "$mod"
  env "${GO_ENV[@]}" "$here/k8s/gomod-kubernetes.sh" "$K8S_VERSION" "$ETCD_VERSION" >"$mod/go.mod.new" 2>>"$BUILD_LOG" ||
    die "generating the Kubernetes wrapper go.mod failed (see $BUILD_LOG)"
  if ! cmp -s "$mod/go.mod.new" "$mod/go.mod"; then
    mv -f "$mod/go.mod.new" "$mod/go.mod"
    rm -f "$mod/go.sum"
  else
    rm -f "$mod/go.mod.new"
  fi
  minor=${K8S_VERSION#v1.}
  minor=${minor%%.*}
  ldflags="-s -w"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
    ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  done
  gorun "$mod" go mod download k8s.io/kubernetes go.etcd.io/etcd/server/v3
  gorun "$mod" go build -p 2 -trimpath -ldflags "$ldflags" -o "$out/" \
    k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
    k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl
  gorun "$mod" go build -p 2 -trimpath -ldflags "-s -w" -o "$out/etcd" go.etcd.io/etcd/server/v3
  # The etcd version that was linked must be the pinned one (MVS could have raised it).
  gorun "$mod" sh -c "go list -m go.etcd.io/etcd/server/v3 | grep -qx 'go.etcd.io/etcd/server/v3 $ETCD_VERSION'"
}

build_kwok() {
  local out=$1 mod=$K8S_HOME/src/kwok-$KWOK_VERSION
  mkdir -p "$mod"
  if [[ ! -f $mod/go.mod ]] || ! grep -q "sigs.k8s.io/kwok $KWOK_VERSION\$" "$mod/go.mod"; then
    printf 'module hangar.test/kwok-build\n\ngo 1.26.0\n\nrequire sigs.k8s.io/kwok %s\n' "$KWOK_VERSION" >"$mod/go.mod"
    rm -f "$mod/go.sum"
  fi
  gorun "$mod" go build -p 2 -trimpath \
    -ldflags "-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=$KWOK_VERSION" \
    -o "$out/kwok" sigs.k8s.io/kwok/cmd/kwok
}

# build_cached NAME VERSION RECIPE BUILDFN BIN...: builds into bin/NAME-VERSION-RECIPE unless
# every BIN is there already.
build_cached() {
  local name=$1 version=$2 recipe=$3 fn=$4; shift 4
  local dir=$BIN_ROOT/$name-$version-$recipe b missing=0
  for b in "$@"; do [[ -x $dir/$b ]] || missing=1; done
  if ((missing)); then
    note "building $name $version (log: $BUILD_LOG)"
    local t0=$SECONDS
    rm -rf "$dir.partial"
    mkdir -p "$dir.partial"
    "$fn" "$dir.partial"
    rm -rf "$dir"
    mv "$dir.partial" "$dir"
    echo "==== $(date -u +%FT%TZ) built $name $version in $((SECONDS - t0)) s" >>"$BUILD_LOG"
  fi
  mkdir -p "$BIN_ROOT/current"
  for b in "$@"; do ln -sfn "../$name-$version-$recipe/$b" "$BIN_ROOT/current/$b"; done
}

cmd_build() {
  command -v go >/dev/null || die "go not found"
  command -v openssl >/dev/null || die "openssl not found"
  mkdir -p "$K8S_HOME"
  exec 8>"$K8S_HOME/.build.lock"
  flock 8
  build_cached kubernetes "$K8S_VERSION" "$(k8s_recipe)" build_k8s "${K8S_BINS[@]}"
  build_cached kwok "$KWOK_VERSION" "$(kwok_recipe)" build_kwok kwok
  exec 8>&-
}

# =============================================================================================
# PKI and kubeconfigs (openssl; ECDSA P-256 certs, RSA service-account key; valid 10 years)
# =============================================================================================
b64() { base64 -w0 <"$1"; }

# new_ca NAME CN: a self-signed CA (kept when present).
new_ca() {
  [[ -f $PKI/$1.crt ]] && return 0
  openssl ecparam -name prime256v1 -genkey -noout -out "$PKI/$1.key" 2>/dev/null
  openssl req -x509 -new -key "$PKI/$1.key" -subj "/CN=$2" -days 3650 -sha256 \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" \
    -out "$PKI/$1.crt.tmp" 2>/dev/null
  mv "$PKI/$1.crt.tmp" "$PKI/$1.crt"
}

# sign CA NAME SUBJECT EXTENSIONS: key + cert signed by CA (kept when present).
sign() {
  local ca=$1 name=$2 subj=$3 ext=$4
  [[ -f $PKI/$name.crt ]] && return 0
  openssl ecparam -name prime256v1 -genkey -noout -out "$PKI/$name.key" 2>/dev/null
  openssl req -new -key "$PKI/$name.key" -subj "$subj" -out "$PKI/$name.csr" 2>/dev/null
  printf '%b\n' "$ext" >"$PKI/$name.ext"
  openssl x509 -req -in "$PKI/$name.csr" -CA "$PKI/$ca.crt" -CAkey "$PKI/$ca.key" -CAcreateserial \
    -days 3650 -sha256 -extfile "$PKI/$name.ext" -out "$PKI/$name.crt.tmp" 2>/dev/null
  rm -f "$PKI/$name.csr" "$PKI/$name.ext" "$PKI/$ca.srl"
  mv "$PKI/$name.crt.tmp" "$PKI/$name.crt"
}

# Every file is made only when missing, so adding a cert here keeps the CA (and the
# kubeconfigs that tests hold) valid.
gen_pki() {
  mkdir -p "$PKI"
  chmod 700 "$PKI"
  local client="basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth"
  local server="basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth"
  new_ca ca hangar-test-kubernetes-ca
  sign ca apiserver "/CN=kube-apiserver" "$server\nsubjectAltName=IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
  sign ca apiserver-kubelet-client "/O=kubeadm:cluster-admins/CN=kube-apiserver-kubelet-client" "$client"
  sign ca admin "/O=system:masters/CN=kubernetes-admin" "$client"
  sign ca kube-controller-manager "/CN=system:kube-controller-manager" "$client"
  sign ca kube-scheduler "/CN=system:kube-scheduler" "$client"
  sign ca kwok "/O=system:masters/CN=kwok-controller" "$client"
  sign ca kwok-serving "/CN=kwok" "$server\nsubjectAltName=IP:127.0.0.1,DNS:localhost"
  # Front proxy (aggregation layer): the apiserver publishes this CA in
  # kube-system/extension-apiserver-authentication, which kcm and the scheduler read.
  new_ca front-proxy-ca hangar-test-front-proxy-ca
  sign front-proxy-ca front-proxy-client "/CN=front-proxy-client" "$client"
  if [[ ! -f $PKI/sa.pub ]]; then
    openssl genrsa -out "$PKI/sa.key" 2048 2>/dev/null
    openssl rsa -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub.tmp" 2>/dev/null
    mv "$PKI/sa.pub.tmp" "$PKI/sa.pub"
  fi
}

# write_kubeconfig FILE CERTNAME: kubeconfig with embedded CA and client cert.
write_kubeconfig() {
  local file=$1 cert=$2
  cat >"$file.tmp" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: hangar-test
  cluster:
    server: $API_URL
    certificate-authority-data: $(b64 "$PKI/ca.crt")
users:
- name: $cert
  user:
    client-certificate-data: $(b64 "$PKI/$cert.crt")
    client-key-data: $(b64 "$PKI/$cert.key")
contexts:
- name: hangar-test
  context:
    cluster: hangar-test
    user: $cert
current-context: hangar-test
EOF
  chmod 600 "$file.tmp"
  mv -f "$file.tmp" "$file"
}

# =============================================================================================
# Processes
# =============================================================================================
COMPONENTS=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok)

bin_of() { echo "$BIN_ROOT/current/$1"; }

# pid_of NAME: the pid from run/NAME.pid if that process still runs our binary.
pid_of() {
  local name=$1 pid exe
  [[ -f $RUN/$name.pid ]] || return 1
  pid=$(cat "$RUN/$name.pid" 2>/dev/null || true)
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  [[ -r /proc/$pid/cmdline ]] || return 1
  exe=$( (tr '\0' '\n' <"/proc/$pid/cmdline" | head -n 1) 2>/dev/null) || return 1
  [[ $exe == "$(bin_of "$name")" ]] && alive "$pid" || return 1
  echo "$pid"
}

curl_api() {
  curl -sS --max-time 5 --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key" "$@"
}

healthy() {
  case $1 in
    etcd) curl -sf --max-time 3 "http://$HOST:$ETCD_PORT/health" 2>/dev/null | grep -q '"health":"true"' ;;
    kube-apiserver) [[ $(curl_api -f "$API_URL/readyz" 2>/dev/null) == ok ]] ;;
    kube-controller-manager) [[ $(curl -skf --max-time 3 "https://$HOST:$KCM_PORT/healthz" 2>/dev/null) == ok ]] ;;
    kube-scheduler) [[ $(curl -skf --max-time 3 "https://$HOST:$SCHED_PORT/healthz" 2>/dev/null) == ok ]] ;;
    kwok) [[ $(curl -sf --max-time 3 --cacert "$PKI/ca.crt" "https://$HOST:$KWOK_PORT/healthz" 2>/dev/null) == ok ]] ;;
  esac
}

port_of() {
  case $1 in
    etcd) echo "$ETCD_PORT" ;;
    kube-apiserver) echo "$API_PORT" ;;
    kube-controller-manager) echo "$KCM_PORT" ;;
    kube-scheduler) echo "$SCHED_PORT" ;;
    kwok) echo "$KWOK_PORT" ;;
  esac
}

# args_of NAME: sets ARGS to its command line arguments.
args_of() {
  ARGS=()
  case $1 in
    etcd)
      ARGS+=(--name=hangar-test --data-dir="$DATA/etcd")
      ARGS+=(--listen-client-urls="http://$HOST:$ETCD_PORT" --advertise-client-urls="http://$HOST:$ETCD_PORT")
      ARGS+=(--listen-peer-urls="http://$HOST:$ETCD_PEER_PORT" --initial-advertise-peer-urls="http://$HOST:$ETCD_PEER_PORT")
      ARGS+=(--initial-cluster="hangar-test=http://$HOST:$ETCD_PEER_PORT" --initial-cluster-state=new)
      ARGS+=(--unsafe-no-fsync=true --log-level=warn)
      ;;
    kube-apiserver)
      ARGS+=(--etcd-servers="http://$HOST:$ETCD_PORT")
      ARGS+=(--bind-address="$HOST" --advertise-address="$HOST" --secure-port="$API_PORT")
      ARGS+=(--cert-dir="$RUN/kube-apiserver" --tls-cert-file="$PKI/apiserver.crt" --tls-private-key-file="$PKI/apiserver.key")
      ARGS+=(--client-ca-file="$PKI/ca.crt")
      ARGS+=(--service-account-issuer=https://kubernetes.default.svc.cluster.local)
      ARGS+=(--service-account-key-file="$PKI/sa.pub" --service-account-signing-key-file="$PKI/sa.key")
      ARGS+=(--service-cluster-ip-range="$SERVICE_CIDR")
      ARGS+=("--authorization-mode=Node,RBAC" --enable-admission-plugins=NodeRestriction --allow-privileged=true)
      # No Endpoints for the kubernetes Service (loopback addresses are invalid there).
      ARGS+=(--endpoint-reconciler-type=none)
      # "kubelets" (kwok's server) are reached on a node's InternalIP only (127.0.0.1), and
      # their serving cert is checked against our CA.
      ARGS+=(--kubelet-preferred-address-types=InternalIP)
      ARGS+=(--kubelet-certificate-authority="$PKI/ca.crt")
      ARGS+=(--kubelet-client-certificate="$PKI/apiserver-kubelet-client.crt" --kubelet-client-key="$PKI/apiserver-kubelet-client.key")
      ARGS+=(--requestheader-client-ca-file="$PKI/front-proxy-ca.crt" --requestheader-allowed-names=front-proxy-client)
      ARGS+=(--requestheader-username-headers=X-Remote-User --requestheader-group-headers=X-Remote-Group)
      ARGS+=(--requestheader-extra-headers-prefix=X-Remote-Extra-)
      ARGS+=(--proxy-client-cert-file="$PKI/front-proxy-client.crt" --proxy-client-key-file="$PKI/front-proxy-client.key")
      ARGS+=(--profiling=false)
      ;;
    kube-controller-manager)
      ARGS+=(--kubeconfig="$K8S_HOME/kube-controller-manager.kubeconfig")
      ARGS+=(--authentication-kubeconfig="$K8S_HOME/kube-controller-manager.kubeconfig")
      ARGS+=(--authorization-kubeconfig="$K8S_HOME/kube-controller-manager.kubeconfig")
      ARGS+=(--bind-address="$HOST" --secure-port="$KCM_PORT" --cert-dir="$RUN/kube-controller-manager")
      ARGS+=(--leader-elect=false --controllers='*')
      ARGS+=(--use-service-account-credentials=true)
      ARGS+=(--service-account-private-key-file="$PKI/sa.key" --root-ca-file="$PKI/ca.crt")
      ARGS+=(--cluster-signing-cert-file="$PKI/ca.crt" --cluster-signing-key-file="$PKI/ca.key")
      ARGS+=(--service-cluster-ip-range="$SERVICE_CIDR")
      ARGS+=(--enable-hostpath-provisioner=true)
      ARGS+=(--profiling=false)
      ;;
    kube-scheduler)
      ARGS+=(--kubeconfig="$K8S_HOME/kube-scheduler.kubeconfig")
      ARGS+=(--authentication-kubeconfig="$K8S_HOME/kube-scheduler.kubeconfig")
      ARGS+=(--authorization-kubeconfig="$K8S_HOME/kube-scheduler.kubeconfig")
      ARGS+=(--bind-address="$HOST" --secure-port="$SCHED_PORT" --cert-dir="$RUN/kube-scheduler")
      ARGS+=(--leader-elect=false --profiling=false)
      ;;
    kwok)
      ARGS+=(--kubeconfig="$K8S_HOME/kwok.kubeconfig")
      ARGS+=(--config="$here/k8s/kwok-stages.yaml")
      ARGS+=(--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake)
      ARGS+=(--node-ip="$HOST" --node-port="$KWOK_PORT" --server-address="$HOST:$KWOK_PORT")
      ARGS+=(--tls-cert-file="$PKI/kwok-serving.crt" --tls-private-key-file="$PKI/kwok-serving.key")
      ARGS+=(--cidr="$POD_CIDR")
      # Node Leases renewed every 10 s (kwok's own default is 0 = no leases: the node lifecycle
      # controller then marks every node NotReady after 50 s, taints it unreachable, and kwok's
      # node-initialize stage flips it back: nodes flap).
      ARGS+=(--node-lease-duration-seconds=40)
      # PortForward objects (test/setup/k8s/kwok-crd-portforwards.yaml) route port-forwards; Exec objects
      # (kwok-crd-execs.yaml) run a pod's exec as a local command.
      ARGS+=(--enable-crds=PortForward --enable-crds=Exec)
      ;;
  esac
}

# start_proc NAME: starts NAME detached (setsid, stdio to its log, every other fd closed).
start_proc() {
  local name=$1 bin log
  bin=$(bin_of "$name")
  log=$LOGS/$name.log
  args_of "$name"
  local -a args=("${ARGS[@]}")
  mkdir -p "$RUN/$name"
  echo "==== $(date -u +%FT%TZ) k8s-cluster.sh: $bin ${args[*]}" >>"$log"
  printf '%s\n' "$(readlink -f "$bin")" "${args[@]}" >"$RUN/$name.args"
  (
    for fd in /proc/"$BASHPID"/fd/*; do
      fd=${fd##*/}
      if ((fd > 2)); then eval "exec $fd>&-" 2>/dev/null || true; fi
    done
    cd "$RUN/$name"
    # kwok would also read ~/.kwok/kwok.yaml: give it a HOME of its own.
    export HOME=$RUN/$name
    exec setsid "$bin" "${args[@]}"
  ) </dev/null >>"$log" 2>&1 &
  echo $! >"$RUN/$name.pid"
  disown $! 2>/dev/null || true
}

fail_proc() {
  local name=$1; shift
  echo "$(basename "$0"): error: $name: $*" >&2
  echo "---- last 40 lines of $LOGS/$name.log ----" >&2
  tail -n 40 "$LOGS/$name.log" >&2
  exit 1
}

# wait_healthy NAME SECONDS
wait_healthy() {
  local name=$1 deadline=$((SECONDS + $2))
  while ((SECONDS < deadline)); do
    healthy "$name" && return 0
    pid_of "$name" >/dev/null || fail_proc "$name" "exited during startup"
    sleep 0.2
  done
  fail_proc "$name" "not healthy after $2 s"
}

# same_args NAME: the running NAME was started from the same build with the same arguments.
same_args() {
  args_of "$1"
  [[ -f $RUN/$1.args ]] && cmp -s "$RUN/$1.args" <(printf '%s\n' "$(readlink -f "$(bin_of "$1")")" "${ARGS[@]}")
}

ensure_running() {
  local name=$1 pid
  if pid_of "$name" >/dev/null && ! same_args "$name"; then
    note "restarting $name: its build or arguments changed"
    stop_procs "$name"
  fi
  healthy "$name" && pid_of "$name" >/dev/null && return 0
  if pid=$(pid_of "$name"); then
    # Ours but not healthy: maybe still starting.
    note "$name (pid $pid) is running but not healthy yet; waiting"
    wait_healthy "$name" 60
    return 0
  fi
  if healthy "$name"; then
    die "$name: something else answers on port $(port_of "$name") (not started by this script; see 'status')"
  fi
  if [[ $name == kwok ]]; then
    # kwok's lease holder identity is new on every start (hostname_uuid), and it only runs the
    # pods of nodes whose Lease it holds: it would wait for the old Leases to expire (40 s).
    # No real kubelet holds any of these, so drop them; kwok recreates them at once.
    run_logged_append "$LOGS/apply.log" KUBECTL -n kube-node-lease delete leases --all
  fi
  note "starting $name"
  start_proc "$name"
}

# alive PID...: one of them still runs (a zombie does not count).
alive() {
  local pid state
  for pid in "$@"; do
    state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null || true)
    [[ -n $state && $state != Z ]] && return 0
  done
  return 1
}

# stop_procs NAME...: SIGTERM to each, then waits up to 10 s for all of them; SIGKILL after that.
stop_procs() {
  local name pid i
  local -a pids=()
  for name in "$@"; do
    if pid=$(pid_of "$name"); then
      note "stopping $name (pid $pid)"
      kill -TERM "$pid" 2>/dev/null || true
      pids+=("$pid")
    fi
  done
  for ((i = 0; i < 100; i++)); do
    alive "${pids[@]}" || break
    sleep 0.1
  done
  for pid in "${pids[@]}"; do
    if alive "$pid"; then
      note "pid $pid ignored SIGTERM for 10 s: SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
  for name in "$@"; do rm -f "$RUN/$name.pid" "$RUN/$name.args"; done
}

KUBECTL() { "$(bin_of kubectl)" --kubeconfig="$KUBECONFIG_FILE" "$@"; }

# Nodes and the StorageClass, then waits until kwok has made every node Ready and holds its
# Lease, and the default ServiceAccount exists (pods in "default" are refused before that).
apply_objects() {
  local log=$LOGS/apply.log out leases
  run_logged_append "$log" KUBECTL apply --server-side --force-conflicts --field-manager=hangar-test -f "$here/k8s/storage.yaml"
  run_logged_append "$log" KUBECTL apply --server-side --force-conflicts --field-manager=hangar-test -f "$here/k8s/ceph-standin.yaml"
  # Node status (capacity) is only taken on create; later changes of nodes.yaml go through the
  # status subresource.
  run_logged_append "$log" KUBECTL apply --server-side --force-conflicts --field-manager=hangar-test -f "$here/k8s/nodes.yaml"
  run_logged_append "$log" KUBECTL apply --server-side --force-conflicts --field-manager=hangar-test --subresource=status -f "$here/k8s/nodes.yaml"
  local deadline=$((SECONDS + 60))
  while ((SECONDS < deadline)); do
    out=$(KUBECTL get nodes -l type=kwok -o jsonpath='{range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' 2>>"$log" || true)
    leases=$(KUBECTL -n kube-node-lease get leases -o name 2>>"$log" | wc -l)
    if [[ -n $out ]] && ! grep -qv '=True$' <<<"$out" && ((leases == $(wc -l <<<"$out"))) &&
      KUBECTL get serviceaccount default -n default >/dev/null 2>&1; then
      return 0
    fi
    sleep 0.3
  done
  echo "$(basename "$0"): error: nodes not Ready (or no default ServiceAccount) after 60 s:" >&2
  echo "$out" >&2
  tail -n 20 "$LOGS/kwok.log" >&2
  exit 1
}

run_logged_append() {
  local log=$1; shift
  if ! "$@" >>"$log" 2>&1; then
    echo "$(basename "$0"): command failed: $*" >&2
    echo "---- last 40 lines of $log ----" >&2
    tail -n 40 "$log" >&2
    exit 1
  fi
}

cmd_start() {
  mkdir -p "$LOGS" "$RUN" "$DATA"
  exec 9>"$K8S_HOME/.lock"
  flock 9
  : >"$LOGS/apply.log"
  gen_pki
  write_kubeconfig "$KUBECONFIG_FILE" admin
  write_kubeconfig "$K8S_HOME/kube-controller-manager.kubeconfig" kube-controller-manager
  write_kubeconfig "$K8S_HOME/kube-scheduler.kubeconfig" kube-scheduler
  write_kubeconfig "$K8S_HOME/kwok.kubeconfig" kwok
  # A changed etcd or apiserver (new build or arguments) restarts everything, in order.
  local c
  for c in etcd kube-apiserver; do
    if pid_of "$c" >/dev/null && ! same_args "$c"; then
      note "$c: its build or arguments changed: restarting the cluster"
      stop_all
      break
    fi
  done
  ensure_running etcd
  wait_healthy etcd 30
  ensure_running kube-apiserver
  wait_healthy kube-apiserver 90
  # kwok watches PortForward and Exec objects: their CRDs must exist before it starts.
  run_logged_append "$LOGS/apply.log" KUBECTL apply --server-side --force-conflicts --field-manager=hangar-test \
    -f "$here/k8s/kwok-crd-portforwards.yaml" -f "$here/k8s/kwok-crd-execs.yaml"
  run_logged_append "$LOGS/apply.log" KUBECTL wait --for=condition=Established --timeout=30s \
    crd/portforwards.kwok.x-k8s.io crd/execs.kwok.x-k8s.io
  for c in kube-controller-manager kube-scheduler kwok; do ensure_running "$c"; done
  for c in kube-controller-manager kube-scheduler kwok; do wait_healthy "$c" 60; done
  apply_objects
  exec 9>&-
}

# Clients first (together: the apiserver waits for their watches to close before it exits),
# then the apiserver, then etcd.
stop_all() {
  stop_procs kwok kube-scheduler kube-controller-manager
  stop_procs kube-apiserver
  stop_procs etcd
}

cmd_stop() {
  mkdir -p "$K8S_HOME"
  exec 9>"$K8S_HOME/.lock"
  flock 9
  stop_all
  exec 9>&-
}

cmd_status() {
  local c pid health rc=0
  for c in "${COMPONENTS[@]}"; do
    pid=$(pid_of "$c" || true)
    if healthy "$c"; then health=healthy; else health=down; rc=1; fi
    [[ -n $pid ]] || { pid=-; rc=1; }
    printf '%-24s pid %-8s %s:%-6s %s\n' "$c" "$pid" "$HOST" "$(port_of "$c")" "$health"
  done
  if ((rc == 0)); then
    echo "kubeconfig: $KUBECONFIG_FILE ($API_URL); logs: $LOGS; bins: $BIN_ROOT/current"
    KUBECTL get nodes -o wide 2>&1 || rc=1
  fi
  return $rc
}

elapsed() { awk -v a="$(date +%s.%N)" -v b="$1" 'BEGIN{printf "%.1f", a-b}'; }

t0=$(date +%s.%N)
case ${1:-up} in
  up)
    cmd_build
    cmd_start
    echo "$(basename "$0"): cluster up in $(elapsed "$t0")s: $API_URL, KUBECONFIG=$KUBECONFIG_FILE"
    ;;
  build)
    cmd_build
    echo "$(basename "$0"): build done in $(elapsed "$t0")s: $BIN_ROOT/current"
    ;;
  stop)
    cmd_stop
    echo "$(basename "$0"): stopped in $(elapsed "$t0")s"
    ;;
  reset)
    # Stops everything and deletes the cluster's state (etcd data); certs and builds stay.
    cmd_stop
    rm -rf --one-file-system "${DATA:?}" "${RUN:?}"
    echo "$(basename "$0"): reset in $(elapsed "$t0")s (etcd data removed)"
    ;;
  status) cmd_status ;;
  env)
    echo "export KUBECONFIG=$KUBECONFIG_FILE"
    echo "export PATH=$BIN_ROOT/current:\$PATH"
    ;;
  verify) exec "$here/k8s/verify.sh" ;;
  *) die "usage: $(basename "$0") [up|build|stop|reset|status|env|verify]" ;;
esac
