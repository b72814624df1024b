# shellcheck shell=bash
# Shared helpers for test/setup/*.sh. Source it; do not execute it.

# Debian's client: /usr/local/bin/docker is a newer client that insists on
# BuildKit for builds, so the setup scripts always use this one.
DOCKER=${HANGAR_DOCKER:-/usr/bin/docker}
# Every cache lives under HANGAR_CACHE_DIR (default ~/.cache/hangar); HANGAR_CACHE is the older name.
HANGAR_CACHE=${HANGAR_CACHE_DIR:-${HANGAR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/hangar}}
HANGAR_CACHE_DIR=$HANGAR_CACHE
export HANGAR_CACHE HANGAR_CACHE_DIR

# files_hash FILE...: one hash of the files' contents, for recipe keys. A cache keyed by the
# whole scripts that make it is rebuilt by the very next run after any change to them.
files_hash() {
  cat "$@" | sha256sum | cut -c1-64
}

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
  "$@" >"$log" 2>&1 || fail_with_log "$log" "command failed: $*"
}

# fail_with_log LOG MESSAGE: says what failed, shows the log's tail, exits.
fail_with_log() {
  echo "$(basename "$0"): $2" >&2
  echo "---- last 40 lines of $1 ----" >&2
  tail -n 40 "$1" >&2
  exit 1
}

# detect_debian_mirror SUITE: the first "deb" source serving SUITE (not -updates/-security) that
# apt already uses (one-line sources.list{,.d/*.list} or deb822 sources.list.d/*.sources);
# HANGAR_DEBIAN_MIRROR overrides it; http://deb.debian.org/debian when none is found.
detect_debian_mirror() {
  local suite=$1
  if [[ -n ${HANGAR_DEBIAN_MIRROR:-} ]]; then
    echo "$HANGAR_DEBIAN_MIRROR"
    return
  fi
  local f uri=""
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [[ -f $f ]] || continue
    uri=$(awk -v suite="$suite" '
      $1 == "deb" {
        i = 2
        if ($i ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
        if ($(i + 1) == suite && $i ~ /^(https?|ftp):\/\//) { print $i; exit }
      }' "$f")
    [[ -n $uri ]] && break
  done
  if [[ -z $uri ]]; then
    for f in /etc/apt/sources.list.d/*.sources; do
      [[ -f $f ]] || continue
      # deb822: blank-line separated stanzas; fields Types, URIs, Suites, Enabled.
      uri=$(awk -v suite="$suite" '
        function flush() {
          if (types ~ /(^| )deb( |$)/ && enabled != "no" && (" " suites " ") ~ (" " suite " ") && uris != "") {
            split(uris, u, " ")
            for (k in u) if (u[k] ~ /^(https?|ftp):\/\//) { print u[k]; found = 1; exit }
          }
          types = uris = suites = enabled = ""
        }
        /^[ \t]*#/ { next }
        /^[ \t]*$/ { flush(); next }
        {
          line = $0; key = tolower(line); sub(/:.*/, "", key); sub(/^[^:]*:[ \t]*/, "", line)
          if (key == "types") types = line
          else if (key == "uris") uris = line
          else if (key == "suites") suites = line
          else if (key == "enabled") enabled = tolower(line)
        }
        END { if (!found) flush() }' "$f")
      [[ -n $uri ]] && break
    done
  fi
  echo "${uri:-http://deb.debian.org/debian}"
}
