#!/usr/bin/env bash
# Packages the VS Code extension as dist/hangar.vsix (offline): bundles with scripts/bundle.mjs, then
# `vsce package --no-dependencies` (the bundle is self-contained; .vscodeignore picks the files).
# Uses the repository's @vscode/vsce (devDependency) when installed, else npx @vscode/vsce@$VSCE_VERSION
# (that needs the npm registry once, then npx's cache). Prints the .vsix path and its size.
#   scripts/package-vsix.sh [OUT]      OUT defaults to dist/hangar.vsix
#   VSIX_TARGET=linux-x64 (a vsce target: linux|darwin|win32 × x64|arm64): a platform package that carries the
#   native ProxyCommand for that platform (scripts/build-native.sh); without it one package for every platform,
#   whose ProxyCommand is the bundled Node CLI.
set -euo pipefail
cd "$(dirname "$0")/.."
VSCE_VERSION=3.9.2 # the last release that runs on Node 20 (4.x needs Node >= 22)
out=${1:-dist/hangar.vsix}

node scripts/bundle.mjs
main=$(node -p "require('./package.json').main || ''")
[[ -n $main && -f $main ]] || {
  echo "package-vsix.sh: error: the extension bundle '${main:-<no main in package.json>}' was not built (is there an extension/extension.ts?)" >&2
  exit 1
}

if [[ -x node_modules/.bin/vsce ]]; then
  vsce=(node_modules/.bin/vsce)
else
  vsce=(npx --yes "@vscode/vsce@$VSCE_VERSION")
fi

mkdir -p "$(dirname "$out")"
rm -f "$out"
log=$(mktemp)
ignore=$(mktemp)
trap 'rm -f "$log" "$ignore"' EXIT
cp .vscodeignore "$ignore"
target=()
if [[ -n ${VSIX_TARGET:-} ]]; then
  goos=${VSIX_TARGET%-*} goarch=${VSIX_TARGET#*-}
  goos=${goos/win32/windows}
  goarch=${goarch/x64/amd64}
  [[ $goos =~ ^(linux|darwin|windows)$ && $goarch =~ ^(amd64|arm64)$ ]] || {
    echo "package-vsix.sh: error: VSIX_TARGET=$VSIX_TARGET is not one of linux|darwin|win32-x64|arm64" >&2
    exit 1
  }
  HANGAR_NATIVE_TARGETS="$goos/$goarch" bash scripts/build-native.sh hangar-proxy
  ls "dist/native/$goos-$goarch/"hangar-proxy* >/dev/null 2>&1 || {
    echo "package-vsix.sh: error: no native proxy for $goos-$goarch (is Go installed?)" >&2
    exit 1
  }
  echo "!dist/native/$goos-$goarch/**" >>"$ignore"
  target=(--target "$VSIX_TARGET")
fi
# No prompts (stdin closed): a missing repository URL or LICENSE is not a reason to stop a local build.
if ! "${vsce[@]}" package --no-dependencies --allow-missing-repository --skip-license \
  --ignoreFile "$ignore" "${target[@]}" -o "$out" </dev/null >"$log" 2>&1; then
  echo "package-vsix.sh: vsce package failed:" >&2
  cat "$log" >&2
  exit 1
fi
# vsce's warnings (e.g. about activation events or the README) are worth seeing; its progress is not.
grep -iE 'warn|error' "$log" >&2 || true
[[ -s $out ]] || { echo "package-vsix.sh: error: vsce did not write $out" >&2; exit 1; }
printf '%s (%s bytes)\n' "$out" "$(stat -c %s "$out")"
