#pragma once
#include <napi.h>

namespace podshm {

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
