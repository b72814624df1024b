#!/usr/bin/env bash
# Builds every Go program under native/cmd/<name> for the targets its `targets` file lists ("os/arch" words),
# static (CGO off), stripped, into dist/native/<os>-<arch>/<name>[.exe], with <name>.version beside it.
# Cached under $HANGAR_CACHE_DIR/native/<hash of native/'s sources, go.sum and this script>: an unchanged tree
# copies the cached binaries instead of building. --if-go: do nothing (exit 0) when no `go` is on PATH.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ ${1:-} == --if-go ]] && ! command -v go >/dev/null 2>&1; then
  echo "build-native: no go on PATH; native programs not built" >&2
  exit 0
fi
cache_root=${HANGAR_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/hangar}/native
hash=$( (cat scripts/build-native.sh; find native -type f \( -name '*.go' -o -name go.mod -o -name go.sum -o -name targets \) \
  -not -name '*_test.go' -print0 | LC_ALL=C sort -z | xargs -0 sha256sum) | sha256sum | cut -c1-64)
version=${hash:0:12}
cache="$cache_root/$hash"
if [[ ! -f $cache/.done ]]; then
  rm -rf "$cache.tmp" && mkdir -p "$cache.tmp"
  for dir in native/cmd/*/; do
    name=$(basename "$dir")
    [[ -f $dir/targets ]] || { echo "build-native: $dir has no targets file" >&2; exit 1; }
    read -r -a targets <"$dir/targets"
    for target in "${targets[@]}"; do
      os=${target%/*} arch=${target#*/}
      ext=""; [[ $os == windows ]] && ext=.exe
      mkdir -p "$cache.tmp/$os-$arch"
      (cd native && CGO_ENABLED=0 GOOS=$os GOARCH=$arch GOFLAGS=-p=1 nice -n 10 go build -trimpath \
        -ldflags "-s -w -X hangar.dev/native/agent.Version=$version" -o "$cache.tmp/$os-$arch/$name$ext" \
        "./cmd/$name") 2>&1 | sed "s|^|build-native $name $os/$arch: |" >&2
      [[ -f $cache.tmp/$os-$arch/$name$ext ]] || { echo "build-native: $name for $os/$arch failed" >&2; exit 1; }
      echo "$version" > "$cache.tmp/$os-$arch/$name.version"
    done
  done
  touch "$cache.tmp/.done"
  rm -rf "$cache" && mv "$cache.tmp" "$cache"
fi
mkdir -p dist/native
cp -r "$cache"/*/ dist/native/
echo "$version"
