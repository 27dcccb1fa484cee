#!/usr/bin/env bash
# The test suite against the addon built with AddressSanitizer and UndefinedBehavior-
# Sanitizer (gcc's libasan and libubsan: Debian packages libasan8, libubsan1).
#   scripts/test-sanitize.sh [tap arguments: test files]   (default: every test)
# The package is copied into a temporary directory and built there, so the normal build
# is never touched. Node itself is not instrumented, so the ASan runtime is preloaded
# into every node process (children inherit it). Leak detection is off: Node keeps
# allocations alive until exit on purpose and LeakSanitizer would report those at every
# exit; the addon's own frees are still checked (use after free, double free). SIGBUS is
# left to the addon's fault guard (native/fault_guard.cc), which the tests drive on purpose.
# No alternate signal stack of ASan's own: a death-watch thread (native/death_watch.cc)
# is cancelled inside fcntl, so no epilogue unpoisons its frames, and ASan's teardown of
# the thread then reported its own sigaltstack call on that stale shadow. Tests that need
# a small memory cgroup skip (PODSHM_SANITIZE): ASan's shadow memory does not fit one.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
asan=$(cc -print-file-name=libasan.so)
if [ ! -e "$asan" ]; then
  echo "test:sanitize needs gcc's libasan (Debian: libasan8)" >&2
  exit 1
fi
(cd "$root" && npm run build:ts --silent)
work=$(mktemp -d /tmp/podshm-sanitize-XXXXXX)
trap 'rm -rf "$work"' EXIT
# Tests run some children as another user (setpriv), who must reach the copy.
chmod 755 "$work"
cp -a "$root/package.json" "$root/binding.gyp" "$root/native" "$root/lib" "$root/dist" "$root/test" "$root/examples" "$root/scripts" "$work/"
ln -s "$root/node_modules" "$work/node_modules"
flags="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g"
(cd "$work" && CFLAGS="$flags" CXXFLAGS="$flags" LDFLAGS="-fsanitize=address,undefined" npx node-gyp rebuild --loglevel=error >/dev/null)
if ! nm -D "$work/build/Release/podshm.node" | grep __asan_init >/dev/null; then
  echo "the addon was not built with AddressSanitizer" >&2
  exit 1
fi
export LD_PRELOAD="$asan" PODSHM_SANITIZE=1
export ASAN_OPTIONS="use_sigaltstack=0:detect_leaks=0:handle_sigbus=0:allow_user_segv_handler=1:abort_on_error=1:verify_asan_link_order=0"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
echo "test:sanitize: addon built with $flags; LD_PRELOAD=$asan"
cd "$work"
npx tap "$@"
