#!/usr/bin/env bash
# What the stack and the tests need besides the npm packages:
# - Node 24 LTS: when this machine's Node is older, scripts/install-node.sh puts the official binaries
#   from the npm registry into .cache/node/ of this clone (npm 11 too when the machine's npm is older
#   than 11.16; no root needed for that part);
# - Debian's redis-server, python3 with its venv module for the reference suite's own environment
#   (scripts/setup-python.sh), and chromium, the headless browser of the job page's test
#   (test/api/job-page.spec.ts): installed only when missing, as root (CI, containers) or through sudo.
#
# Use it as  eval "$(scripts/install-system-deps.sh)"  : its only output on stdout is the line that puts
# that Node first on PATH in this shell (nothing when the machine's Node is new enough); messages go to
# stderr. In a new shell run it again: with everything in place it only prints that line.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || missing+=(python3 python3-venv)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    as_root=()
  elif command -v sudo >/dev/null 2>&1; then
    as_root=(sudo)
  else
    echo "missing ${missing[*]} and this user cannot install it: run 'apt-get install -y ${missing[*]}' as root" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${as_root[@]}" apt-get update -qq >&2
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  echo "installed: ${missing[*]}" >&2
fi

scripts/install-node.sh
