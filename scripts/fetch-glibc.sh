#!/usr/bin/env bash
# Debian 11's glibc 2.31 (the glibc of Ubuntu 20.04, older than the 2.32 that added
# __libc_single_threaded) with its libstdc++ and libgcc_s, for amd64 and arm64, unpacked
# into one root, .cache/glibc-2.31/, for test/prebuilds/glibc.test.mjs: Node.js and the
# smoke set run on it, through its own dynamic linker on x64 and under qemu-user on arm64.
# apt-get reads a package list of its own under .cache/apt-bullseye, sees no installed
# package, and only downloads, so the host's dpkg architectures stay as they are.
set -euo pipefail
cd "$(dirname "$0")/.."
dest=.cache/glibc-2.31
[ -e "$dest/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2" ] && [ -e "$dest/lib/ld-linux-aarch64.so.1" ] && exit 0
state="$PWD/.cache/apt-bullseye"
mkdir -p "$state/lists/partial" "$state/cache/archives/partial"
echo 'deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bullseye main' >"$state/sources.list"
opts=(-o "Dir::State::Lists=$state/lists" -o "Dir::Cache=$state/cache" -o "Dir::Etc::SourceList=$state/sources.list"
  -o Dir::Etc::SourceParts=/dev/null -o Dir::State::status=/dev/null -o APT::Architecture=amd64
  -o APT::Architectures::=amd64 -o APT::Architectures::=arm64)
apt-get -qq "${opts[@]}" update
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
chmod 777 "$tmp" # apt downloads as the _apt user
for arch in amd64 arm64; do
  (cd "$tmp" && apt-get -qq "${opts[@]}" download "libc6:$arch" "libstdc++6:$arch" "libgcc-s1:$arch")
done
rm -rf "$dest.tmp"
for deb in "$tmp"/*.deb; do dpkg-deb -x "$deb" "$dest.tmp"; done
mv "$dest.tmp" "$dest"
echo "installed Debian 11's $(cd "$tmp" && echo libc6_*.deb) in $dest"
