// Memory mappings as SharedArrayBuffers (docs/design.md, "Mapping memory").
#include "mapping.h"

#include <dlfcn.h>
#include <errno.h>
#include <sys/mman.h>

#include "addon.h"
#include "args.h"
#include "futex.h"
#include "throw.h"
#include "v8_sab.h"

namespace podshm {

namespace {

// Marks our Externals so a foreign External passed to the raw binding is refused
// instead of being dereferenced.
const napi_type_tag kMappingTag = {0x706f6473686d6d61ULL, 0x7070696e67000001ULL};

// Node 22.23.3+, 24.16.0+ and 26.1.0+; looked up at run time so one binary serves all.
using CreateExternalSab = napi_status (*)(napi_env, void*, size_t, void (*)(void*, void*), void*, napi_value*);

CreateExternalSab LookupCreateExternalSab() {
  static CreateExternalSab fn =
      reinterpret_cast<CreateExternalSab>(dlsym(RTLD_DEFAULT, "node_api_create_external_sharedarraybuffer"));
  return fn;
}

// Runs on whichever thread collects the last SharedArrayBuffer over the range.
void ReleaseNodeApi(void* /*data*/, void* hint) { delete static_cast<MappingRef*>(hint); }

void ReleaseV8(void* /*data*/, size_t /*length*/, void* deleter_data) { delete static_cast<MappingRef*>(deleter_data); }

Napi::Value NewSharedArrayBuffer(Napi::Env env, const MappingRef& mapping) {
  auto* ref = new MappingRef(mapping);
  if (CreateExternalSab create = LookupCreateExternalSab()) {
    napi_value result;
    napi_status status = create(env, mapping->base, mapping->length, ReleaseNodeApi, ref, &result);
    if (status != napi_ok) {
      delete ref;
      throw Napi::Error::New(env, "node_api_create_external_sharedarraybuffer failed");
    }
    return Napi::Value(env, result);
  }
  // Node 20 has no Node-API for this; V8's backing store takes foreign memory with a
  // deleter.
  return Napi::Value(env, NewV8SharedArrayBuffer(mapping->base, mapping->length, ReleaseV8, ref));
}

// Cuts this process off from the shared object without unmapping: views that are
// still alive read zeros instead of faulting.
void Detach(Napi::Env env, Mapping& m) {
  bool expected = false;
  if (!m.detached.compare_exchange_strong(expected, true)) return;
  // MAP_NORESERVE: zeros need no commit, so a range larger than RAM can be released too.
  void* done =
      mmap(m.base, m.length, PROT_READ | PROT_WRITE, MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (done == MAP_FAILED) {
    // Still attached (a huge-page segment, say): say so rather than pretend.
    int err = errno;
    m.detached.store(false);
    ThrowErrno(env, "mmap", err);
  }
  m.Unguard();
  WakeWaiters();
}

// mapping.map(fd, length, privateCopy) -> { handle, buffer }
Napi::Value MapFd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = ArgFd(info, 0);
  int64_t length = ArgInt(info, 1);
  bool private_copy = ArgBool(info, 2);
  if (length <= 0) throw Napi::RangeError::New(env, "length must be positive");
  // A read-only view is still mapped writable but private, so a stray write from
  // JavaScript lands in a copy instead of faulting on a read-only page.
  int flags = private_copy ? MAP_PRIVATE : MAP_SHARED;
  void* base = mmap(nullptr, static_cast<size_t>(length), PROT_READ | PROT_WRITE, flags, fd, 0);
  if (base == MAP_FAILED) ThrowErrno(env, "mmap", errno);
  return ExposeMapping(env, std::make_shared<Mapping>(base, static_cast<size_t>(length)));
}

Napi::Value Unmap(const Napi::CallbackInfo& info) {
  Detach(info.Env(), UnwrapMapping(info[0]));
  return info.Env().Undefined();
}

// Pages of this range that a peer's shrinking of the object turned into private zeros.
Napi::Value LostPages(const Napi::CallbackInfo& info) {
  Mapping& m = UnwrapMapping(info[0]);
  double lost = static_cast<double>(m.LostPages());
  return Napi::Number::New(info.Env(), lost);
}

Napi::Value Backend(Napi::Env env) { return Napi::String::New(env, LookupCreateExternalSab() ? "node-api" : "v8"); }

const Export kExports[] = {
    {"backend", nullptr, Backend},
    {"map", MapFd},
    {"unmap", Unmap},
    {"lostPages", LostPages},
};

}  // namespace

Mapping::~Mapping() {
  Unguard();
  munmap(base, length);
}

void Mapping::Unguard() {
  GuardSlot* slot = guard.exchange(nullptr);
  if (!slot) return;
  lost_pages.fetch_add(slot->LostPages());
  UnguardRange(slot);
}

uint64_t Mapping::LostPages() const {
  uint64_t lost = lost_pages.load();
  // A slot read here stays valid: only Unguard() frees it, on this (the JS) thread or
  // in the destructor, which cannot run while a handle is in use.
  if (GuardSlot* slot = guard.load()) lost += slot->LostPages();
  return lost;
}

void* Mapping::At(int64_t offset, size_t size) const {
  if (offset < 0 || static_cast<uint64_t>(offset) > length || size > length - offset) return nullptr;
  return static_cast<char*>(base) + offset;
}

Napi::Object ExposeMapping(Napi::Env env, MappingRef mapping) {
  // An unguarded mapping could be turned into a SIGBUS by any peer that shrinks the
  // object: refuse it (the mapping is undone as `mapping` goes out of scope).
  if (!mapping->guard.load()) {
    Napi::Error error = Napi::Error::New(env, "EMFILE: too many shared memory mappings in this process (" +
                                                  std::to_string(kGuardSlots) + " open at once); close some first");
    error.Set("code", Napi::String::New(env, "EMFILE"));
    error.Set("errno", Napi::Number::New(env, -EMFILE));
    error.Set("syscall", Napi::String::New(env, "mmap"));
    throw error;
  }
  Napi::Object result = Napi::Object::New(env);
  result.Set("buffer", NewSharedArrayBuffer(env, mapping));
  auto handle = Napi::External<MappingRef>::New(env, new MappingRef(std::move(mapping)),
                                                [](Napi::Env, MappingRef* ref) { delete ref; });
  handle.TypeTag(&kMappingTag);
  result.Set("handle", handle);
  return result;
}

Mapping& UnwrapMapping(const Napi::Value& handle) {
  if (!handle.IsExternal() || !handle.As<Napi::External<MappingRef>>().CheckTypeTag(&kMappingTag)) {
    throw Napi::TypeError::New(handle.Env(), "expected a mapping handle");
  }
  return **handle.As<Napi::External<MappingRef>>().Data();
}

const Group kMapping = MakeGroup("mapping", kExports);

}  // namespace podshm
