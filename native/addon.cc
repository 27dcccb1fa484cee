#include "addon.h"

#include <unistd.h>

namespace podshm {
namespace {

// The export table: native.<group>.<name>.
const Group* const kGroups[] = {&kMapping, &kFd,     &kFdWatch, &kShm,        &kSysv, &kMq,
                                &kFutex,   &kWaiter, &kOfd,     &kDeathWatch, &kBell};

// Registered when the addon is loaded, so it runs after the hooks of anything the
// environment made later (a waiter thread) and before the instance is deleted.
void Teardown(void* data) {
  auto* instance = static_cast<Instance*>(data);
  for (int fd : instance->lock_fds) close(fd);
  instance->lock_fds.clear();
}

Napi::Object InitAddon(Napi::Env env, Napi::Object exports) {
  auto* instance = new Instance();
  env.SetInstanceData(instance);
  napi_add_env_cleanup_hook(env, Teardown, instance);
  for (const Group* group : kGroups) {
    Napi::Object object = Napi::Object::New(env);
    for (const Export* e = group->exports; e != group->exports + group->count; ++e) {
      object.Set(e->name, e->function != nullptr ? Napi::Function::New(env, e->function, e->name, instance) : e->value(env));
    }
    exports.Set(group->name, object);
  }
  return exports;
}

}  // namespace
}  // namespace podshm

static Napi::Object Init(Napi::Env env, Napi::Object exports) { return podshm::InitAddon(env, exports); }

NODE_API_MODULE(podshm, Init)
