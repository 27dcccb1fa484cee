#include "args.h"

#include <limits.h>

#include <cmath>
#include <string>

namespace podshm {

int64_t ArgInt(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || !info[i].IsNumber()) {
    throw Napi::TypeError::New(info.Env(), "argument " + std::to_string(i) + " must be a number");
  }
  // Integers only, up to 2**53 (all held exactly): NaN, Infinity or 2**64 must
  // not turn into some other number on the way to a system call.
  double v = info[i].As<Napi::Number>().DoubleValue();
  if (!std::isfinite(v) || v != std::trunc(v) || std::fabs(v) > 9007199254740992.0) {
    throw Napi::RangeError::New(info.Env(), "argument " + std::to_string(i) + " must be a safe integer");
  }
  return static_cast<int64_t>(v);
}

int64_t ArgTimeoutMs(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || !info[i].IsNumber()) {
    throw Napi::TypeError::New(info.Env(), "argument " + std::to_string(i) + " must be a number");
  }
  double v = info[i].As<Napi::Number>().DoubleValue();
  if (std::isnan(v)) throw Napi::RangeError::New(info.Env(), "argument " + std::to_string(i) + " must not be NaN");
  // About 292 years: far beyond any wait, and still exact in nanoseconds in an int64.
  constexpr double kForever = 9.2e12;
  if (v < 0 || v >= kForever) return -1;
  return static_cast<int64_t>(std::ceil(v));
}

int ArgFd(const Napi::CallbackInfo& info, size_t i) {
  int64_t fd = ArgInt(info, i);
  if (fd < 0 || fd > INT_MAX) {
    throw Napi::RangeError::New(info.Env(), "argument " + std::to_string(i) + " must be a file descriptor");
  }
  return static_cast<int>(fd);
}

std::string ArgString(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || !info[i].IsString()) {
    throw Napi::TypeError::New(info.Env(), "argument " + std::to_string(i) + " must be a string");
  }
  return info[i].As<Napi::String>().Utf8Value();
}

bool ArgBool(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || !info[i].IsBoolean()) {
    throw Napi::TypeError::New(info.Env(), "argument " + std::to_string(i) + " must be a boolean");
  }
  return info[i].As<Napi::Boolean>().Value();
}

}  // namespace podshm
