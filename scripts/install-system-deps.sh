#!/usr/bin/env bash
# System packages the stack and the tests need besides Node 20: redis-server (Debian's package).
# Idempotent: installs nothing when redis-server is already on the PATH. Works as root (CI, containers)
# and as a normal user (through sudo, which then asks for a password).
set -euo pipefail

if command -v redis-server >/dev/null 2>&1; then
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1; then
  as_root=(sudo)
else
  echo "redis-server is missing and this user cannot install it: run 'apt-get install -y redis-server' as root" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
redis-server --version
