#!/usr/bin/env bash
# Serves a real S3 API on HANGAR_S3_ADDR (default 127.0.0.1:17070) with versitygw (Apache-2.0, built
# from the Go module proxy and cached like the Kubernetes binaries) over a POSIX directory
# (HANGAR_S3_DIR, default /var/lib/hangar-test/s3/data: each top-level directory is a bucket), with
# its internal IAM (accounts the daemon may create for scoped credentials) and the admin API on
# HANGAR_S3_ADMIN_ADDR (default 127.0.0.1:17071).
# Root credentials: made once, kept in $HANGAR_CACHE_DIR/s3/root.env (mode 0600, AWS_ACCESS_KEY_ID and
# AWS_SECRET_ACCESS_KEY lines); the daemon's test config reads them from that file, never the database.
# Idempotent and quiet: when the server already answers with the same binary and flags it only
# checks the port. Prints the credentials file's path on stdout.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=SCRIPTDIR/lib.sh
source "$here/lib.sh"
need_root

VERSITYGW_VERSION=v1.8.0
DATA_DIR=${HANGAR_S3_DIR:-/var/lib/hangar-test/s3/data}
ADDR=${HANGAR_S3_ADDR:-127.0.0.1:17070}
ADMIN_ADDR=${HANGAR_S3_ADMIN_ADDR:-127.0.0.1:17071}
DIR="$HANGAR_CACHE/s3"
BUILD_LOG="$DIR/build.log"
CREDS="$DIR/root.env"
PID="$DIR/versitygw.pid"
LOG="$DIR/versitygw.log"
IAM_DIR="$DIR/iam"

GO_ENV=(
  GOPATH="$HANGAR_CACHE/go" GOMODCACHE="$HANGAR_CACHE/go/pkg/mod" GOCACHE="$HANGAR_CACHE/go/cache"
  GOFLAGS="-buildvcs=false" GOTOOLCHAIN=local CGO_ENABLED=0 GOWORK=off
)

command -v go >/dev/null || die "go not found (the S3 test server is built from the Go module proxy)"
mkdir -p "$DIR" "$DATA_DIR" "$IAM_DIR"

exec 9>"$DIR/start.lock"
flock 9

# The binary's directory is keyed by this script and the Go version: a change rebuilds.
recipe=$({
  echo "versitygw $VERSITYGW_VERSION $(go env GOVERSION)"
  cat "$here/start-s3.sh"
} | sha256sum | cut -c1-12)
BIN_DIR="$DIR/bin-$recipe"
BIN="$BIN_DIR/versitygw"
if [[ ! -x $BIN ]]; then
  note "building versitygw $VERSITYGW_VERSION (into $BIN_DIR)"
  mkdir -p "$BIN_DIR.tmp"
  # -p 1: two cores are shared with the tests; nice keeps the build out of their way.
  if ! env "${GO_ENV[@]}" GOBIN="$BIN_DIR.tmp" nice -n 10 go install -p 1 -trimpath -ldflags "-s -w" \
    "github.com/versity/versitygw/cmd/versitygw@$VERSITYGW_VERSION" >"$BUILD_LOG" 2>&1; then
    fail_with_log "$BUILD_LOG" "building versitygw failed"
  fi
  rm -rf "$BIN_DIR" && mv "$BIN_DIR.tmp" "$BIN_DIR"
fi

if [[ ! -s $CREDS ]]; then
  umask 077
  {
    echo "AWS_ACCESS_KEY_ID=hangar$(openssl rand -hex 6)"
    echo "AWS_SECRET_ACCESS_KEY=$(openssl rand -hex 24)"
  } >"$CREDS.tmp"
  mv "$CREDS.tmp" "$CREDS"
  umask 022
fi
access=$(sed -n 's/^AWS_ACCESS_KEY_ID=//p' "$CREDS")
secret=$(sed -n 's/^AWS_SECRET_ACCESS_KEY=//p' "$CREDS")

answers() {
  local host=${ADDR%:*} port=${ADDR##*:}
  timeout 2 bash -c "exec 3<>/dev/tcp/$host/$port" 2>/dev/null
}

# What the running server was started with (no secret in it): a change restarts it.
state="$BIN --port $ADDR --admin-port $ADMIN_ADDR --iam-dir $IAM_DIR posix $DATA_DIR $(sha256sum "$CREDS" | cut -c1-12)"
if [[ -f $PID ]] && kill -0 "$(cat "$PID")" 2>/dev/null; then
  if [[ $(cat "$DIR/state" 2>/dev/null) == "$state" ]] && answers; then
    echo "$CREDS"
    exit 0
  fi
  kill "$(cat "$PID")" 2>/dev/null || true
  sleep 1
fi

note "starting versitygw on $ADDR serving $DATA_DIR"
# Secrets through the environment (ROOT_ACCESS_KEY/ROOT_SECRET_KEY), not argv: ps shows argv to everyone.
# 9>&-: the server must not inherit (and hold forever) the start lock.
ROOT_ACCESS_KEY=$access ROOT_SECRET_KEY=$secret setsid "$BIN" --quiet --port "$ADDR" --admin-port "$ADMIN_ADDR" \
  --iam-dir "$IAM_DIR" --health /health posix "$DATA_DIR" >"$LOG" 2>&1 9>&- </dev/null &
echo $! >"$PID"
printf '%s\n' "$state" >"$DIR/state"
for _ in $(seq 1 60); do
  if answers; then
    echo "$CREDS"
    exit 0
  fi
  kill -0 "$(cat "$PID")" 2>/dev/null || fail_with_log "$LOG" "versitygw exited"
  sleep 0.5
done
fail_with_log "$LOG" "versitygw did not answer on $ADDR"
