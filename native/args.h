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

// Argument checks for values that lib/ has already validated; a failure here is a
// bug in lib/ or a direct caller of the raw binding, never a crash.
int64_t ArgInt(const Napi::CallbackInfo& info, size_t i);
// Milliseconds: negative or huge (Infinity) is -1, for ever; fractions round up; NaN throws.
int64_t ArgTimeoutMs(const Napi::CallbackInfo& info, size_t i);
// A descriptor: an integer from 0 to INT_MAX (so 2**32 + 1 is refused, not fd 1).
int ArgFd(const Napi::CallbackInfo& info, size_t i);
std::string ArgString(const Napi::CallbackInfo& info, size_t i);
bool ArgBool(const Napi::CallbackInfo& info, size_t i);

}  // namespace podshm
