#include <vector>

#include "registry.h"

namespace podshm {

namespace {
struct Entry {
  const char* name;
  InitFn init;
};

// Function-local static: safe to use from other files' static initializers.
std::vector<Entry>& Entries() {
  static std::vector<Entry> entries;
  return entries;
}
}  // namespace

Registration::Registration(const char* name, InitFn init) { Entries().push_back({name, init}); }

void InitAll(Napi::Env env, Napi::Object exports) {
  for (const Entry& e : Entries()) e.init(env, exports);
}

}  // namespace podshm

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  podshm::InitAll(env, exports);
  return exports;
}

NODE_API_MODULE(podshm, Init)
