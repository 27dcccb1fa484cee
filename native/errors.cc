#include "errors.h"

#include <string.h>
#include <uv.h>

#include <string>

namespace podshm {

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
  return info[i].As<Napi::Number>().Int64Value();
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
