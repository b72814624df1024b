#!/usr/bin/env bash
# Builds every native/cmd/* (Go, static: CGO off, -trimpath, stripped) into dist/native/<os>-<arch>/, cached by
# source hash under $HANGAR_CACHE_DIR/native/<hash>. No Go on PATH: says so and leaves dist/native as it is
# (the Node code paths stay the fallback).
#   scripts/build-native.sh [CMD...]     default: every native/cmd/*
#   HANGAR_NATIVE_TARGETS="linux/amd64"  only these platforms (tests build the host's alone)
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=/dev/null
source test/setup/lib.sh

command -v go >/dev/null || {
  echo "build-native.sh: no go on PATH: native binaries not built (the Node fallbacks are used)" >&2
  exit 0
}
version=$(node -p "require('./package.json').version" 2>/dev/null || echo dev)

# Which platforms each command is for: the proxy runs where the client runs, the rest inside environments.
targets() {
  if [[ -n ${HANGAR_NATIVE_TARGETS:-} ]]; then
    echo "$HANGAR_NATIVE_TARGETS"
    return
  fi
  case $1 in
    hangar-proxy) echo linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64 windows/arm64 ;;
    *) echo linux/amd64 linux/arm64 ;;
  esac
}

cmds=("$@")
if [[ ${#cmds[@]} == 0 ]]; then
  for d in native/cmd/*/; do cmds+=("$(basename "$d")"); done
fi
mapfile -t sources < <(find native -type f \( -name '*.go' -o -name go.mod -o -name go.sum \) | LC_ALL=C sort)
hash=$(printf '%s %s\n' "$(go env GOVERSION)" "$version" | cat - "${sources[@]}" scripts/build-native.sh | sha256sum | cut -c1-32)
cache=$HANGAR_CACHE_DIR/native/$hash

for cmd in "${cmds[@]}"; do
  [[ -d native/cmd/$cmd ]] || die "no native/cmd/$cmd"
  for t in $(targets "$cmd"); do
    os=${t%/*} arch=${t#*/}
    exe=$cmd
    [[ $os == windows ]] && exe=$cmd.exe
    out=$cache/$os-$arch/$exe
    if [[ ! -x $out ]]; then
      mkdir -p "$(dirname "$out")"
      (cd native && CGO_ENABLED=0 GOOS=$os GOARCH=$arch GOFLAGS=${GOFLAGS:--p=1} nice -n 10 \
        go build -trimpath -ldflags "-s -w -X main.version=$version" -o "$out.tmp" "./cmd/$cmd")
      mv "$out.tmp" "$out"
    fi
    mkdir -p "dist/native/$os-$arch"
    cp -f "$out" "dist/native/$os-$arch/$exe"
  done
done
