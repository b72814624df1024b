#!/usr/bin/env bash
# Builds the Go programs under native/cmd/<name> (hangar-agent, hangar-proxy) for the targets each one's `targets`
# file lists ("os/arch" words; HANGAR_NATIVE_TARGETS narrows them, e.g. to the host's alone), static (CGO off),
# -trimpath, stripped, into dist/native/<os>-<arch>/<name>[.exe] with <name>.version beside it. Cached per program
# and target under $HANGAR_CACHE_DIR/native/<hash of native/'s sources, go.sum, the Go version and this script>:
# an unchanged tree copies the cached binaries instead of building.
#   scripts/build-native.sh [--if-go] [NAME...]   default: every native/cmd/*
# --if-go: no `go` on PATH is not an error (the Node code paths stay the fallback).
set -euo pipefail
cd "$(dirname "$0")/.."
if_go=0
if [[ ${1:-} == --if-go ]]; then
  if_go=1
  shift
fi
if ! command -v go >/dev/null 2>&1; then
  echo "build-native: no go on PATH; native programs not built" >&2
  exit $((1 - if_go))
fi
cache_root=${HANGAR_CACHE_DIR:-${HANGAR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/hangar}}/native
hash=$( (go env GOVERSION; cat scripts/build-native.sh
  find native -type f \( -name '*.go' -o -name go.mod -o -name go.sum -o -name targets \) -not -name '*_test.go' \
    -print0 | LC_ALL=C sort -z | xargs -0 sha256sum) | sha256sum | cut -c1-64)
version=${hash:0:12}
cache="$cache_root/$hash"

names=("$@")
if ((${#names[@]} == 0)); then
  for d in native/cmd/*/; do names+=("$(basename "$d")"); done
fi
for name in "${names[@]}"; do
  dir=native/cmd/$name
  [[ -f $dir/targets ]] || { echo "build-native: $dir has no targets file" >&2; exit 1; }
  read -r -a targets <"$dir/targets"
  for target in "${targets[@]}"; do
    if [[ -n ${HANGAR_NATIVE_TARGETS:-} && " $HANGAR_NATIVE_TARGETS " != *" $target "* ]]; then continue; fi
    os=${target%/*} arch=${target#*/}
    ext=""
    [[ $os == windows ]] && ext=.exe
    out=$cache/$os-$arch/$name$ext
    if [[ ! -x $out ]]; then
      mkdir -p "$(dirname "$out")"
      (cd native && CGO_ENABLED=0 GOOS=$os GOARCH=$arch GOFLAGS=${GOFLAGS:--p=1} nice -n 10 go build -trimpath \
        -ldflags "-s -w -X hangar.dev/native/agent.Version=$version -X main.version=$version" -o "$out.tmp" \
        "./cmd/$name") 2>&1 | sed "s|^|build-native $name $os/$arch: |" >&2
      [[ -f $out.tmp ]] || { echo "build-native: $name for $os/$arch failed" >&2; exit 1; }
      mv "$out.tmp" "$out"
      echo "$version" >"$cache/$os-$arch/$name.version"
    fi
    mkdir -p "dist/native/$os-$arch"
    cp -f "$out" "$cache/$os-$arch/$name.version" "dist/native/$os-$arch/"
  done
done
echo "$version"
