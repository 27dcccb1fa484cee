#include "errors.h"

#include <limits.h>
#include <string.h>
#include <uv.h>

#include <cmath>
#include <string>

namespace podshm {

void ReportUncaught(napi_env env) {
  bool pending = false;
  if (napi_is_exception_pending(env, &pending) != napi_ok || !pending) return;
  napi_value error;
  if (napi_get_and_clear_last_exception(env, &error) == napi_ok) napi_fatal_exception(env, error);
}

void ThrowErrno(Napi::Env env, const char* syscall, int err) {
  const char* code = uv_err_name(-err);
  std::string message = std::string(code) + ": " + strerror(err) + ", " + syscall;
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("code", Napi::String::New(env, code));
  error.Set("errno", Napi::Number::New(env, -err));
  error.Set("syscall", Napi::String::New(env, syscall));
  throw error;
}

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
