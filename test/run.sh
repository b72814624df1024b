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
exec npx mocha "${specs[@]}"
