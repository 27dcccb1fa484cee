// Each native file registers its functions from a static initializer, so adding a
// kernel facility touches only its own file (and binding.gyp globs native/*.cc).
#pragma once
#include <napi.h>

namespace podshm {

using InitFn = void (*)(Napi::Env env, Napi::Object exports);

struct Registration {
  Registration(const char* name, InitFn init);
};

void InitAll(Napi::Env env, Napi::Object exports);

}  // namespace podshm

#define PODSHM_REGISTER(name, fn) static ::podshm::Registration podshm_registration_##name(#name, fn)
