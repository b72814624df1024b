#!/usr/bin/env bash
# End-to-end smoke check of the test cluster that test/setup/k8s-cluster.sh runs (call it as
# `test/setup/k8s-cluster.sh verify` after `up`). Works in namespace hangar-verify, which it
# deletes at the start and the end. Prints one line per check and "N passed, N failed".
# HANGAR_SETUP_VERBOSE=1 also prints the objects' details.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=SCRIPTDIR/../lib.sh
source "$here/../lib.sh"
K8S_HOME=$HANGAR_CACHE/k8s
export KUBECONFIG=$K8S_HOME/kubeconfig
kubectl() { "$K8S_HOME/bin/current/kubectl" "$@"; }
NS=hangar-verify
passed=0
failed=0

ok() { passed=$((passed + 1)); echo "ok   $*"; }
bad() { failed=$((failed + 1)); echo "FAIL $*"; }
# check DESCRIPTION COMMAND...: passes when COMMAND succeeds.
check() {
  local what=$1; shift
  if "$@"; then ok "$what"; else bad "$what"; fi
}
# wait_for SECONDS COMMAND...: retries COMMAND every 0.3 s.
wait_for() {
  local deadline=$((SECONDS + $1)); shift
  while ((SECONDS < deadline)); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.3
  done
  "$@"
}
jp() { kubectl -n "$NS" get "$1" -o jsonpath="$2" 2>/dev/null; }
eq() { [[ $("${@:2}") == "$1" ]]; }

kubectl delete namespace "$NS" --ignore-not-found --wait=true --timeout=60s >/dev/null
kubectl create namespace "$NS" >/dev/null
wait_for 30 kubectl -n "$NS" get serviceaccount default >/dev/null

# --- Nodes --------------------------------------------------------------------------------------
fresh_leases() {
  local now renew n=0
  now=$(date +%s)
  while read -r _ renew; do
    [[ -n $renew ]] || return 1
    (($(date -d "$renew" +%s) > now - 40)) || return 1
    n=$((n + 1))
  done < <(kubectl -n kube-node-lease get leases -o jsonpath='{range .items[*]}{.metadata.name} {.spec.renewTime}{"\n"}{end}')
  ((n == 5))
}
check "5 fake nodes, each with a Lease renewed in the last 40 s" fresh_leases
nodes_ready_untainted() {
  local ready taints
  ready=$(kubectl get nodes -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' | grep -c '^True$')
  taints=$(kubectl get nodes -o jsonpath='{.items[*].spec.taints}')
  [[ $ready == 5 && -z $taints ]]
}
check "  ... all Ready, no taints" nodes_ready_untainted
check "  ... gpu-h100-0 allocatable nvidia.com/gpu=8, product label H100" eq "8 NVIDIA-H100-80GB-HBM3" \
  kubectl get node gpu-h100-0 -o jsonpath='{.status.allocatable.nvidia\.com/gpu} {.metadata.labels.nvidia\.com/gpu\.product}'

# --- Deployment: 2 GPUs of a given model -------------------------------------------------------
kubectl -n "$NS" apply -f - >/dev/null <<'EOF'
apiVersion: apps/v1
kind: Deployment
metadata:
  name: h100
spec:
  replicas: 1
  selector: {matchLabels: {app: h100}}
  template:
    metadata: {labels: {app: h100}}
    spec:
      nodeSelector:
        nvidia.com/gpu.product: NVIDIA-H100-80GB-HBM3
      containers:
      - name: main
        image: hangar-test/ssh:latest
        ports: [{containerPort: 22}]
        resources:
          limits: {nvidia.com/gpu: 2}
EOF
h100_pod() { jp pods '{range .items[?(@.metadata.labels.app=="h100")]}{.metadata.name}{" "}{.spec.nodeName}{" "}{.status.phase}{"\n"}{end}'; }
one_running_on() { local out; out=$(h100_pod); [[ $(wc -l <<<"$out") == 1 && $out == *" $1 Running" ]]; }
check "Deployment nvidia.com/gpu=2 + nodeSelector H100 -> pod Running on gpu-h100-0" \
  wait_for 30 one_running_on gpu-h100-0
check "Deployment reports 1/1 available" \
  wait_for 30 eq 1 jp deployment/h100 '{.status.availableReplicas}'

# --- More GPUs than any node has: Pending with the scheduler's reason --------------------------
kubectl -n "$NS" apply -f - >/dev/null <<'EOF'
apiVersion: v1
kind: Pod
metadata:
  name: nine-gpus
spec:
  containers:
  - name: main
    image: hangar-test/ssh:latest
    resources:
      limits: {nvidia.com/gpu: 9}
EOF
unschedulable() { eq Unschedulable jp pod/nine-gpus '{.status.conditions[?(@.type=="PodScheduled")].reason}'; }
check "pod asking for 9 GPUs stays Pending (PodScheduled=False, Unschedulable)" wait_for 30 unschedulable
msg=$(jp pod/nine-gpus '{.status.conditions[?(@.type=="PodScheduled")].message}')
echo "     message: $msg"
check "  ... message says Insufficient nvidia.com/gpu" grep -q 'Insufficient nvidia.com/gpu' <<<"$msg"
event=$(kubectl -n "$NS" get events --field-selector involvedObject.name=nine-gpus,reason=FailedScheduling \
  -o jsonpath='{.items[0].message}' 2>/dev/null)
check "  ... FailedScheduling event recorded" grep -q 'Insufficient nvidia.com/gpu' <<<"$event"

# --- MIG (mixed strategy) ------------------------------------------------------------------------
kubectl -n "$NS" apply -f - >/dev/null <<'EOF'
apiVersion: v1
kind: Pod
metadata:
  name: mig-slice
spec:
  containers:
  - name: main
    image: hangar-test/ssh:latest
    resources:
      limits: {nvidia.com/mig-1g.10gb: 1}
EOF
check "pod asking for nvidia.com/mig-1g.10gb=1 -> Running on gpu-a100-mig-0" \
  wait_for 30 eq "gpu-a100-mig-0 Running" jp pod/mig-slice '{.spec.nodeName} {.status.phase}'

# --- Scale to 0 and back -------------------------------------------------------------------------
kubectl -n "$NS" scale deployment/h100 --replicas=0 >/dev/null
no_pods() { [[ -z $(h100_pod) ]]; }
check "scale h100 to 0 -> no pods left" wait_for 30 no_pods
kubectl -n "$NS" scale deployment/h100 --replicas=4 >/dev/null
# 4 x 2 GPUs = the whole H100 node.
four_running() { [[ $(h100_pod | grep -c ' gpu-h100-0 Running$') == 4 ]]; }
check "scale h100 to 4 -> 4 pods Running on gpu-h100-0 (8 GPUs used)" wait_for 30 four_running
kubectl -n "$NS" scale deployment/h100 --replicas=5 >/dev/null
fifth_pending() {
  local pending
  pending=$(jp pods '{range .items[?(@.metadata.labels.app=="h100")]}{.status.phase}{" "}{.status.conditions[?(@.type=="PodScheduled")].message}{"\n"}{end}' | grep '^Pending')
  [[ $pending == *"Insufficient nvidia.com/gpu"* ]]
}
check "scale h100 to 5 -> the 5th pod Pending (Insufficient nvidia.com/gpu)" wait_for 30 fifth_pending
kubectl -n "$NS" delete deployment h100 --wait=true --timeout=60s >/dev/null
check "delete Deployment -> its pods are gone" wait_for 30 no_pods

# --- StatefulSet with a volumeClaimTemplate (default StorageClass "standard") -------------------
kubectl -n "$NS" apply -f - >/dev/null <<'EOF'
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: ws
spec:
  serviceName: ws
  replicas: 1
  selector: {matchLabels: {app: ws}}
  template:
    metadata: {labels: {app: ws}}
    spec:
      containers:
      - name: main
        image: hangar-test/ssh:latest
        volumeMounts: [{name: home, mountPath: /home}]
        resources:
          limits: {nvidia.com/gpu: 1}
  volumeClaimTemplates:
  - metadata: {name: home}
    spec:
      accessModes: [ReadWriteOnce]
      resources: {requests: {storage: 10Gi}}
EOF
check "StatefulSet pod ws-0 Running" wait_for 60 eq Running jp pod/ws-0 '{.status.phase}'
check "  ... PVC home-ws-0 Bound (storageClass standard)" \
  wait_for 30 eq "Bound standard" jp pvc/home-ws-0 '{.status.phase} {.spec.storageClassName}'
pv=$(jp pvc/home-ws-0 '{.spec.volumeName}')
check "  ... PV $pv exists, provisioned by kubernetes.io/host-path" \
  eq kubernetes.io/host-path kubectl get pv "$pv" -o jsonpath='{.metadata.annotations.pv\.kubernetes\.io/provisioned-by}'
pvdir=$(kubectl get pv "$pv" -o jsonpath='{.spec.hostPath.path}')
check "  ... its hostPath $pvdir exists on this machine" test -d "$pvdir"
check "StatefulSet reports 1 ready replica" wait_for 30 eq 1 jp statefulset/ws '{.status.readyReplicas}'
kubectl -n "$NS" delete statefulset ws --wait=true --timeout=60s >/dev/null
kubectl -n "$NS" delete pvc home-ws-0 --wait=true --timeout=60s >/dev/null
pv_gone() { ! kubectl get pv "$pv" >/dev/null 2>&1; }
check "delete StatefulSet + PVC -> PV deleted (reclaimPolicy Delete)" wait_for 30 pv_gone
check "  ... and its directory removed" test ! -e "$pvdir"

# --- Job -----------------------------------------------------------------------------------------
kubectl -n "$NS" apply -f - >/dev/null <<'EOF'
apiVersion: batch/v1
kind: Job
metadata:
  name: once
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: main
        image: hangar-test/ssh:latest
        command: ["true"]
EOF
check "Job completes (Complete=True, succeeded=1)" \
  wait_for 60 eq "True 1" jp job/once '{.status.conditions[?(@.type=="Complete")].status} {.status.succeeded}'

# --- ServiceAccount tokens -----------------------------------------------------------------------
token=$(kubectl -n "$NS" create token default 2>&1)
check "TokenRequest for ServiceAccount default works" grep -q '^ey' <<<"$token"
whoami=$(kubectl --token="$token" auth whoami -o jsonpath='{.status.userInfo.username}' 2>&1 --kubeconfig=/dev/null \
  --server="$(kubectl config view --minify -o jsonpath='{.clusters[0].cluster.server}')" \
  --certificate-authority="$K8S_HOME/pki/ca.crt")
check "  ... the token authenticates as system:serviceaccount:$NS:default" \
  eq "system:serviceaccount:$NS:default" echo "$whoami"

# --- No kubelet: logs and port-forward (kwok's server answers for the nodes) ---------------------
kubectl -n "$NS" apply -f - >/dev/null <<'EOF'
apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  containers:
  - name: main
    image: hangar-test/jupyter:latest
    ports: [{containerPort: 8888}]
    resources:
      limits: {nvidia.com/gpu: 1}
EOF
wait_for 30 eq Running jp pod/web '{.status.phase}' >/dev/null
logs=$(kubectl -n "$NS" logs web 2>&1)
echo "     kubectl logs web: ${logs:-<empty>}"

# port_forward PORT: curl through `kubectl port-forward pod/web :PORT`; sets pf_out, pf_log.
port_forward() {
  local log local_port
  log=$(mktemp)
  kubectl -n "$NS" port-forward --address 127.0.0.1 pod/web ":$1" >"$log" 2>&1 &
  local pid=$!
  wait_for 10 grep -q 'Forwarding from' "$log" >/dev/null
  local_port=$(sed -n 's/^Forwarding from 127.0.0.1:\([0-9]*\) .*/\1/p' "$log" | head -n 1)
  pf_out=$(curl -sS --max-time 5 "http://127.0.0.1:${local_port:-1}/" 2>&1)
  sleep 0.3
  kill "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  pf_log=$(cat "$log")
  rm -f "$log"
}
port_forward 8888
echo "     port-forward without a PortForward object: curl: $pf_out"
# shellcheck disable=SC2001
sed 's/^/       kubectl: /' <<<"$pf_log"
check "  ... fails with kwok's 'no forward found for port 8888'" grep -q 'no forward found for port 8888' <<<"$pf_log"

# A PortForward object routes the pod's port 8888 to a server on 127.0.0.1.
srvdir=$(mktemp -d)
echo hangar-portforward-ok >"$srvdir/index.html"
python3 -m http.server --bind 127.0.0.1 --directory "$srvdir" 0 >"$srvdir/log" 2>&1 &
srvpid=$!
wait_for 10 grep -q 'Serving HTTP' "$srvdir/log" >/dev/null
srvport=$(sed -n 's/.*port \([0-9]*\).*/\1/p' "$srvdir/log" | head -n 1)
kubectl -n "$NS" apply -f - >/dev/null <<EOF
apiVersion: kwok.x-k8s.io/v1alpha1
kind: PortForward
metadata:
  name: web
spec:
  forwards:
  - ports: [8888]
    target: {address: 127.0.0.1, port: ${srvport:-1}}
EOF
sleep 1 # kwok's watch
port_forward 8888
check "port-forward with a PortForward object reaches 127.0.0.1:$srvport" grep -q hangar-portforward-ok <<<"$pf_out"
kill "$srvpid" 2>/dev/null
wait "$srvpid" 2>/dev/null
rm -rf "$srvdir"

# --- Clean up ------------------------------------------------------------------------------------
if [[ ${HANGAR_SETUP_VERBOSE:-0} == 1 ]]; then
  kubectl get nodes -o wide
  kubectl -n "$NS" get all,pvc,events
fi
kubectl delete namespace "$NS" --wait=true --timeout=60s >/dev/null
check "namespace deleted" eq "" kubectl get namespace "$NS" --ignore-not-found -o name

echo "$passed passed, $failed failed"
((failed == 0))
