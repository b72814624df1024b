#!/usr/bin/env bash
# Runs one test area (unit, docker, api, access, k8s, kvm, jumpserver, ui) or all of them, bringing up what the area needs first.
# The last line of output is "N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."
area="${1:-all}"
case "$area" in
  unit) areas=(unit) ;;
  docker) areas=(docker) ;;
  api) areas=(api) ;;
  ui) areas=(ui) ;;
  access) areas=(access) ;;
  k8s) areas=(k8s) ;;
  kvm) areas=(kvm) ;;
  jumpserver) areas=(jumpserver) ;;
  all) areas=(unit docker api access k8s kvm jumpserver ui) ;;
  *) echo "unknown test area '$area' (unit, docker, api, access, ui, k8s, kvm, jumpserver, all)" >&2; exit 2 ;;
esac

[ -d node_modules ] || npm ci --no-audit --no-fund
node scripts/bundle.mjs
specs=()
for a in "${areas[@]}"; do
  case "$a" in
    unit) ;; # no root, no daemons, nothing installed
    docker | access | jumpserver) bash test/setup/all.sh ;;
    api) bash test/setup/all.sh; bash test/setup/schemathesis.sh >/dev/null ;;
    ui) bash test/setup/all.sh; bash test/setup/code-server.sh ;;
    k8s) bash test/setup/k8s-cluster.sh up ;;
    kvm) bash test/setup/install-packages.sh; bash test/setup/start-libvirtd.sh; bash test/setup/build-vm-image.sh >/dev/null ;;
  esac
  specs+=("test/$a/**/*.test.ts")
done
exec npx mocha "${specs[@]}"
