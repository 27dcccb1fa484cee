// System V shared memory: ftok, shmget, shmat, shmctl. An attached segment is
// exposed through native/mapping.h like any other mapping, so detaching goes through
// the mapping's unmap (an anonymous mapping laid over the range, which drops the
// attach as shmdt would) and can never invalidate a live view (docs/design.md, "Mapping memory").
// There is deliberately no plain shmdt here: JavaScript may always hold a view.
#include <errno.h>
#include <stdint.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <string>
#include <vector>

#include "addon.h"
#include "args.h"
#include "kernel_abi.h"
#include "mapping.h"
#include "throw.h"

namespace podshm {
namespace {

struct shmid_ds StatId(Napi::Env env, int id) {
  struct shmid_ds ds;
  if (shmctl(id, IPC_STAT, &ds) != 0) ThrowErrno(env, "shmctl", errno);
  return ds;
}

// sysv.ftok(path, projId) -> key, computed by the C library so it always matches what a
// C program gets for the same path.
Napi::Value Ftok(const Napi::CallbackInfo& info) {
  std::string path = ArgString(info, 0);
  int proj = static_cast<int>(ArgInt(info, 1));
  errno = 0;
  key_t key = ftok(path.c_str(), proj);
  if (key == -1 && errno != 0) ThrowErrno(info.Env(), "ftok", errno);
  return Napi::Number::New(info.Env(), key);
}

// sysv.get(key, size, flags) -> id. flags carry IPC_CREAT/IPC_EXCL and the mode bits.
Napi::Value ShmGet(const Napi::CallbackInfo& info) {
  key_t key = static_cast<key_t>(ArgInt(info, 0));
  int64_t size = ArgInt(info, 1);
  int flags = static_cast<int>(ArgInt(info, 2));
  if (size < 0) throw Napi::RangeError::New(info.Env(), "size must not be negative");
  int id = shmget(key, static_cast<size_t>(size), flags);
  if (id < 0) ThrowErrno(info.Env(), "shmget", errno);
  return Napi::Number::New(info.Env(), id);
}

// sysv.attach(id) -> { handle, buffer } over the whole segment, read-write. A read-only
// attach is not offered: a stray write from JavaScript would fault on it.
Napi::Value ShmAttach(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int id = static_cast<int>(ArgInt(info, 0));
  struct shmid_ds ds = StatId(env, id);
  void* base = shmat(id, nullptr, 0);
  if (base == reinterpret_cast<void*>(-1)) ThrowErrno(env, "shmat", errno);
  // From here the Mapping owns the attach; if exposing fails, its destructor's munmap
  // detaches.
  return ExposeMapping(env, std::make_shared<Mapping>(base, ds.shm_segsz));
}

// sysv.populate(handle): faults every page in for writing now, so the memory is
// allocated and charged to this process's memory cgroup at creation (ENOMEM here)
// rather than at some later first touch.
Napi::Value ShmPopulate(const Napi::CallbackInfo& info) {
  Mapping& m = UnwrapMapping(info[0]);
  if (m.detached.load()) return info.Env().Undefined();
  if (madvise(m.base, m.length, MADV_POPULATE_WRITE) == 0) return info.Env().Undefined();
  if (errno != EINVAL) ThrowErrno(info.Env(), "madvise", errno);
  // Kernels before 5.14 lack MADV_POPULATE_WRITE: write-fault each page with an atomic
  // add of zero, which cannot lose a peer's concurrent store.
  long page = sysconf(_SC_PAGESIZE);
  auto* bytes = static_cast<unsigned char*>(m.base);
  for (size_t off = 0; off < m.length; off += static_cast<size_t>(page)) {
    __atomic_fetch_add(bytes + off, 0, __ATOMIC_RELAXED);
  }
  return info.Env().Undefined();
}

// sysv.missingBytes(handle) -> bytes of the range whose pages are not in memory now
// (mincore), i.e. what a pre-fault would have to allocate and charge.
Napi::Value ShmMissingBytes(const Napi::CallbackInfo& info) {
  Mapping& m = UnwrapMapping(info[0]);
  size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  size_t pages = (m.length + page - 1) / page;
  // In fixed chunks: the segment's size is the peer's choice (a sparse 4 TiB segment
  // costs it nothing), and one byte per page of it must not be ours to allocate.
  constexpr size_t kChunk = 65536;
  unsigned char resident[kChunk];
  size_t missing = 0;
  for (size_t first = 0; first < pages; first += kChunk) {
    size_t n = std::min(kChunk, pages - first);
    char* at = static_cast<char*>(m.base) + first * page;
    if (mincore(at, n * page, resident) != 0) ThrowErrno(info.Env(), "mincore", errno);
    for (size_t i = 0; i < n; i++) missing += (resident[i] & 1) ? 0 : 1;
  }
  return Napi::Number::New(info.Env(), static_cast<double>(missing * page));
}

Napi::Value ShmStat(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  struct shmid_ds ds = StatId(env, static_cast<int>(ArgInt(info, 0)));
  Napi::Object r = Napi::Object::New(env);
  r.Set("key", Napi::Number::New(env, ds.shm_perm.__key));
  r.Set("mode", Napi::Number::New(env, ds.shm_perm.mode));
  r.Set("uid", Napi::Number::New(env, ds.shm_perm.uid));
  r.Set("gid", Napi::Number::New(env, ds.shm_perm.gid));
  r.Set("cuid", Napi::Number::New(env, ds.shm_perm.cuid));
  r.Set("cgid", Napi::Number::New(env, ds.shm_perm.cgid));
  r.Set("size", Napi::Number::New(env, static_cast<double>(ds.shm_segsz)));
  r.Set("attachCount", Napi::Number::New(env, static_cast<double>(ds.shm_nattch)));
  r.Set("creatorPid", Napi::Number::New(env, ds.shm_cpid));
  r.Set("lastPid", Napi::Number::New(env, ds.shm_lpid));
  r.Set("atime", Napi::Number::New(env, static_cast<double>(ds.shm_atime)));
  r.Set("dtime", Napi::Number::New(env, static_cast<double>(ds.shm_dtime)));
  r.Set("ctime", Napi::Number::New(env, static_cast<double>(ds.shm_ctime)));
  return r;
}

// sysv.set(id, uid, gid, mode): IPC_SET; only the owner, the creator or root may.
Napi::Value ShmSet(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int id = static_cast<int>(ArgInt(info, 0));
  struct shmid_ds ds = StatId(env, id);
  ds.shm_perm.uid = static_cast<uid_t>(ArgInt(info, 1));
  ds.shm_perm.gid = static_cast<gid_t>(ArgInt(info, 2));
  ds.shm_perm.mode = static_cast<unsigned short>(ArgInt(info, 3));
  if (shmctl(id, IPC_SET, &ds) != 0) ThrowErrno(env, "shmctl", errno);
  return env.Undefined();
}

// sysv.remove(id): IPC_RMID; the segment is destroyed after its last detach.
Napi::Value ShmRemove(const Napi::CallbackInfo& info) {
  if (shmctl(static_cast<int>(ArgInt(info, 0)), IPC_RMID, nullptr) != 0) {
    ThrowErrno(info.Env(), "shmctl", errno);
  }
  return info.Env().Undefined();
}

Napi::Value Constants(Napi::Env env) {
  Napi::Object c = Napi::Object::New(env);
  c.Set("IPC_PRIVATE", Napi::Number::New(env, IPC_PRIVATE));
  c.Set("IPC_CREAT", Napi::Number::New(env, IPC_CREAT));
  c.Set("IPC_EXCL", Napi::Number::New(env, IPC_EXCL));
  c.Set("SHM_DEST", Napi::Number::New(env, SHM_DEST));
  c.Set("SHM_LOCKED", Napi::Number::New(env, SHM_LOCKED));
  c.Set("pageSize", Napi::Number::New(env, static_cast<double>(sysconf(_SC_PAGESIZE))));
  return c;
}

const Export kExports[] = {
    {"constants", nullptr, Constants}, {"ftok", Ftok},    {"get", ShmGet}, {"attach", ShmAttach}, {"populate", ShmPopulate},
    {"missingBytes", ShmMissingBytes}, {"stat", ShmStat}, {"set", ShmSet}, {"remove", ShmRemove},
};

}  // namespace

const Group kSysv = MakeGroup("sysv", kExports);

}  // namespace podshm
