#!/usr/bin/env bash
# Debian's musl C library for amd64 and arm64, unpacked into .cache/musl-<arch>/, for
# test/prebuilds/symbols.test.mjs: every symbol a musl prebuild takes from the C library
# must be one that musl's libc.so exports; and for test/prebuilds/musl.test.mjs, where it
# is the dynamic linker that loads them. apt-get reads a package list of its own under
# .cache/apt and only downloads, so the host's dpkg architectures stay as they are.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f .cache/musl-amd64/libc.so ] && [ -f .cache/musl-arm64/libc.so ] && exit 0
lists="$PWD/.cache/apt/lists"
mkdir -p "$lists/partial"
opts=(-o "Dir::State::Lists=$lists" -o APT::Architecture=amd64 -o APT::Architectures::=amd64 -o APT::Architectures::=arm64)
apt-get -qq "${opts[@]}" update
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
chmod 777 "$tmp" # apt downloads as the _apt user
for arch in amd64 arm64; do
  (cd "$tmp" && apt-get -qq "${opts[@]}" download "musl:$arch")
  dpkg-deb -x "$tmp"/musl_*_"$arch".deb "$tmp/$arch"
  mkdir -p ".cache/musl-$arch"
  cp "$(find "$tmp/$arch" -name libc.so -type f)" ".cache/musl-$arch/libc.so"
  echo "installed musl:$arch's libc.so in .cache/musl-$arch"
done
