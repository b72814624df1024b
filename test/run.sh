#!/usr/bin/env bash
# Runs one test area (unit, docker, profiles, api, access, lifecycle, k8s, kvm, storage, datasets, jumpserver, ui, agent) or all of them, bringing up what the area needs first.
# The last line of output is "N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."
area="${1:-all}"
case "$area" in
  unit) areas=(unit) ;;
  docker) areas=(docker) ;;
  profiles) areas=(profiles) ;;
  api) areas=(api) ;;
  ui) areas=(ui) ;;
  access) areas=(access) ;;
  lifecycle) areas=(lifecycle) ;;
  k8s) areas=(k8s) ;;
  kvm) areas=(kvm) ;;
  storage) areas=(storage) ;;
  jumpserver) areas=(jumpserver) ;;
  datasets) areas=(datasets) ;;
  agent) areas=(agent) ;;
  all) areas=(unit docker profiles api access lifecycle k8s kvm storage datasets jumpserver ui agent) ;;
  *) echo "unknown test area '$area' (unit, docker, profiles, api, access, lifecycle, ui, k8s, kvm, storage, datasets, jumpserver, agent, all)" >&2; exit 2 ;;
esac

[ -d node_modules ] || npm ci --no-audit --no-fund
node scripts/bundle.mjs
# hangar-agent (envs default to ssh_server agent): cached by source hash, seconds when unchanged.
[[ $area == unit ]] || bash scripts/build-native.sh --if-go >/dev/null
specs=()
for a in "${areas[@]}"; do
  case "$a" in
    unit) ;; # no root, no daemons, nothing installed
    docker | access | profiles | jumpserver) bash test/setup/all.sh ;;
    lifecycle) bash test/setup/all.sh; bash test/setup/k8s-cluster.sh up ;;
    api) bash test/setup/all.sh; bash test/setup/schemathesis.sh >/dev/null ;;
    ui) bash test/setup/all.sh; bash test/setup/code-server.sh ;;
    k8s) bash test/setup/k8s-cluster.sh up ;;
    storage) bash test/setup/all.sh; bash test/setup/start-nfs.sh; bash test/setup/start-libvirtd.sh; bash test/setup/build-vm-image.sh >/dev/null ;;
    datasets) bash test/setup/all.sh; bash test/setup/start-s3.sh >/dev/null; bash test/setup/start-libvirtd.sh
      bash test/setup/build-vm-image.sh >/dev/null
      bash test/setup/k8s-cluster.sh up; bash test/setup/k8s-snapshots.sh ;;
    agent)
      bash test/setup/all.sh; bash test/setup/build-agent-images.sh
      bash test/setup/start-libvirtd.sh; bash test/setup/build-vm-image.sh >/dev/null
      bash test/setup/k8s-cluster.sh up
      (cd native && GOFLAGS=-p=1 nice -n 10 go test ./...) ;;
    kvm) bash test/setup/install-packages.sh; bash test/setup/start-libvirtd.sh; bash test/setup/build-vm-image.sh >/dev/null ;;
  esac
  specs+=("test/$a/**/*.test.ts")
done
[[ $area == all ]] || exec npx mocha "${specs[@]}"

# The whole suite in two lanes at once: the files that boot TCG guests (about a core each, the rest of the time
# waiting on the guest; no dockerd in them, so the dockerd-down test can't touch them) beside everything else.
# Each lane is its own mocha; the VM lane's report follows the other's, and the last line sums both.
vm_lane=(test/kvm/*.test.ts test/storage/vm-nfs.test.ts test/storage/libvirt-volumes.test.ts
  test/agent/vm.test.ts test/datasets/snapshots-libvirt.test.ts test/datasets/vm-datasets.test.ts
  test/datasets/backups-libvirt.test.ts test/datasets/backups-vm.test.ts)
ignore=()
for f in "${vm_lane[@]}"; do ignore+=(--ignore "$f"); done
lane_log=$(mktemp /tmp/hangar-vm-lane.XXXXXX)
main_log=$(mktemp /tmp/hangar-main-lane.XXXXXX)
trap 'kill "$lane_pid" 2>/dev/null || true' EXIT
npx mocha "${vm_lane[@]}" >"$lane_log" 2>&1 &
lane_pid=$!
set +e
npx mocha "${specs[@]}" "${ignore[@]}" | tee "$main_log"
main_rc=${PIPESTATUS[0]}
wait "$lane_pid"
lane_rc=$?
set -e
echo
echo "--- the VM lane (${vm_lane[*]}) ---"
cat "$lane_log"
# A lane that printed no summary (it crashed) counts as one failure.
total() {
  local line
  line=$(tail -n 5 "$1" | grep -Eo '^[0-9]+ passed, [0-9]+ failed' | tail -n 1)
  echo "${line:-0 passed, 1 failed}"
}
read -r p1 _ f1 _ <<<"$(total "$main_log")"
read -r p2 _ f2 _ <<<"$(total "$lane_log")"
rm -f "$lane_log" "$main_log"
echo
echo "$((p1 + p2)) passed, $((f1 + f2 + (main_rc != 0 && f1 == 0) + (lane_rc != 0 && f2 == 0))) failed"
((main_rc == 0 && lane_rc == 0))
