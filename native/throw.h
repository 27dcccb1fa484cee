#pragma once
#include <napi.h>

namespace podshm {

// Throws a JavaScript Error shaped like Node's fs errors: code ('ENOENT'), errno
// (negative, as libuv reports it), syscall. lib/core/errors.ts turns it into SystemError.
[[noreturn]] void ThrowErrno(Napi::Env env, const char* syscall, int err);

// For a call from a native callback into JavaScript that returned napi_pending_exception:
// reports the exception as uncaught, as Node does for its own callbacks. Does nothing
// when there is none, which is how a call fails while the environment is torn down.
void ReportUncaught(napi_env env);

}  // namespace podshm
