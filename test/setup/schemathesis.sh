#!/usr/bin/env bash
# Installs the pinned schemathesis into a venv under the cache dir (once per pin) and prints the venv's path.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=SCRIPTDIR/lib.sh
source "$here/lib.sh"

requirement='schemathesis==4.32.5'
venv="$HANGAR_CACHE/venv-schemathesis-$(printf '%s' "$requirement" | sha256sum | cut -c1-12)"
# .installed marks a finished install: an interrupted one is started again.
if [[ ! -e $venv/.installed ]]; then
  # Debian's python3 (python3-venv from install-packages.sh), not whatever python3 comes first on PATH.
  python=/usr/bin/python3
  [[ -x $python ]] || python=python3
  mkdir -p "$HANGAR_CACHE"
  log="$HANGAR_CACHE/schemathesis-install.log"
  rm -rf "$venv"
  run_logged "$log" "$python" -m venv "$venv"
  run_logged "$log" "$venv/bin/pip" install -q --disable-pip-version-check "$requirement"
  touch "$venv/.installed"
fi
echo "$venv"
