// The addon's export table and its per-environment state (docs/design.md, "The native
// side"). Each facility's file defines one Group; addon.cc lists them and builds
// native.<group>.<name> from them, the object lib/addon/native.ts types.
#pragma once
#include <napi.h>

#include <cstddef>
#include <set>

namespace podshm {

class Waiter;

// One name of a group: a function, or a value made once per environment.
struct Export {
  const char* name;
  Napi::Value (*function)(const Napi::CallbackInfo& info);
  Napi::Value (*value)(Napi::Env env);
};

struct Group {
  const char* name;
  const Export* exports;
  size_t count;
};

template <size_t N>
constexpr Group MakeGroup(const char* name, const Export (&exports)[N]) {
  return {name, exports, N};
}

// One per native file, named as lib/ spells the facility (native/death_watch.cc: deathWatch).
extern const Group kBell, kDeathWatch, kFd, kFdWatch, kFutex, kMapping, kMq, kOfd, kShm, kSysv, kWaiter;

// What one Node environment (the main thread's, or a Worker's) holds: made when the
// environment loads the addon, deleted when the environment is torn down. Every exported
// function carries it as its data, so a call reaches its own environment's state.
struct Instance {
  static Instance& Of(const Napi::CallbackInfo& info) { return *static_cast<Instance*>(info.Data()); }

  // native/waiter.cc: the environment's waiter thread, started on first use. Its own
  // cleanup hook stops it (before Node closes its thread-safe function) and clears this.
  Waiter* waiter = nullptr;
  // native/ofd.cc: descriptors opened for locks and not closed yet. A descriptor belongs
  // to the process, and its locks with it: a Worker that ended without closing its own
  // would leave its participants looking alive, so the teardown closes them.
  std::set<int> lock_fds;
};

}  // namespace podshm
