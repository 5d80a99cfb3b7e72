#!/usr/bin/env bash
# System packages the stack and the tests need besides Node 20 (Debian's packages): redis-server, and
# python3 with its venv module for the reference suite's own environment (scripts/setup-python.sh).
# Idempotent: installs only what is missing. Works as root (CI, containers)
# and as a normal user (through sudo, which then asks for a password).
set -euo pipefail

missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || missing+=(python3 python3-venv)
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1; then
  as_root=(sudo)
else
  echo "missing ${missing[*]} and this user cannot install it: run 'apt-get install -y ${missing[*]}' as root" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
echo "installed: ${missing[*]}"
