#!/usr/bin/env bash
# Runs one test area (unit, docker, profiles, api, access, lifecycle, k8s, kvm, storage, datasets, jumpserver, ui) or all of them, bringing up what the area needs first.
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
  all) areas=(unit docker profiles api access lifecycle k8s kvm storage datasets jumpserver ui) ;;
  *) echo "unknown test area '$area' (unit, docker, profiles, api, access, lifecycle, ui, k8s, kvm, storage, datasets, jumpserver, all)" >&2; exit 2 ;;
esac

[ -d node_modules ] || npm ci --no-audit --no-fund
node scripts/bundle.mjs
specs=()
for a in "${areas[@]}"; do
  case "$a" in
    unit) ;; # no root, no daemons, nothing installed
    docker | access | profiles | jumpserver) bash test/setup/all.sh ;;
    lifecycle) bash test/setup/all.sh; bash test/setup/k8s-cluster.sh up ;;
    api) bash test/setup/all.sh; bash test/setup/schemathesis.sh >/dev/null ;;
    ui) bash test/setup/all.sh; bash test/setup/code-server.sh ;;
    k8s) bash test/setup/k8s-cluster.sh up ;;
    storage) bash test/setup/all.sh; bash test/setup/start-nfs.sh ;;
    datasets) bash test/setup/all.sh; bash test/setup/start-s3.sh >/dev/null; bash test/setup/start-libvirtd.sh
      bash test/setup/k8s-cluster.sh up; bash test/setup/k8s-snapshots.sh ;;
    kvm) bash test/setup/install-packages.sh; bash test/setup/start-libvirtd.sh; bash test/setup/build-vm-image.sh >/dev/null ;;
  esac
  specs+=("test/$a/**/*.test.ts")
done
exec npx mocha "${specs[@]}"
