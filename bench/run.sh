#!/usr/bin/env bash
# Benchmarks: ratios measured side by side in one run (the machines are noisy; never compare across runs).
# Every figure is also one JSON line {"figure","hangar","floor","ratio","goal","met",…}; they come last.
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH_FIGURES=$(mktemp)
export BENCH_FIGURES
trap 'rm -f "$BENCH_FIGURES"' EXIT
bash test/setup/all.sh
node scripts/bundle.mjs
bash scripts/build-native.sh hangar-proxy # the native ProxyCommand (skipped without Go: the Node one is measured)
npx tsx bench/ssh.bench.ts
bash scripts/build-native.sh >/dev/null
npx tsx bench/agent.bench.ts
npx tsx bench/lifecycle.bench.ts
npx tsx bench/extension.bench.ts
npx tsx bench/gpu.bench.ts
npx tsx bench/access.bench.ts
npx tsx bench/envlist.bench.ts
bash test/setup/start-libvirtd.sh
bash test/setup/build-vm-image.sh >/dev/null
npx tsx bench/vm.bench.ts
bash test/setup/k8s-cluster.sh up
npx tsx bench/k8s.bench.ts
echo "---- figures (JSON lines) ----"
cat "$BENCH_FIGURES"
