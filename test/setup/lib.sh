# shellcheck shell=bash
# Shared helpers for test/setup/*.sh. Source it; do not execute it.

# Debian's client: /usr/local/bin/docker is a newer client that insists on
# BuildKit for builds, so the setup scripts always use this one.
DOCKER=${HANGAR_DOCKER:-/usr/bin/docker}
HANGAR_CACHE=${HANGAR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/hangar}

die() {
  echo "$(basename "$0"): error: $*" >&2
  exit 1
}

note() {
  # Progress on stderr, only when HANGAR_SETUP_VERBOSE=1 (scripts are quiet by default).
  if [[ ${HANGAR_SETUP_VERBOSE:-0} == 1 ]]; then echo "$(basename "$0"): $*" >&2; fi
}

need_root() {
  [[ $(id -u) == 0 ]] || die "must run as root"
}

docker_up() {
  timeout 10 "$DOCKER" version >/dev/null 2>&1
}

# Run a command with its output captured to a file; on failure print the tail
# of that output and exit. Keeps the scripts quiet unless something breaks.
run_logged() {
  local log=$1; shift
  if ! "$@" >"$log" 2>&1; then
    echo "$(basename "$0"): command failed: $*" >&2
    echo "---- last 40 lines of $log ----" >&2
    tail -n 40 "$log" >&2
    exit 1
  fi
}
