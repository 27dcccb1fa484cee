// Learning of a peer's death without looking (docs/design.md, "Liveness"): a thread
// blocks in F_OFD_SETLKW for a shared lock on a range of liveness slots, which the
// kernel grants only once no exclusive lock (no participant's presence) is left on any
// byte of it, however its holders ended. It then lets go of the lock at once and makes
// the death an event the waiter already sleeps on, in one of two ways:
// - a channel side (flagOffset >= 0): what a peer's publication does (lib/channel/
//   wait.ts, wake): if the sleeping flag is raised, clear it; if it said "bell" and a
//   bell was given, ring it, else add 1 to the sequence word and wake its sleepers.
//   A waiter that raises its flag after the watch fired finds the watch fired when it
//   arms it (both sides are sequentially consistent), and arms a new one.
// - a mutex waiter: swap the word from an exact value (owner | WAITERS) to another
//   (owner), and wake its sleepers: a waiter not yet asleep finds the word changed.
// A watch costs a blocked thread and no CPU; the thread is cancelled when the watch is
// dropped, or the handle collected (as every handle is when its environment ends).
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <climits>
#include <cstdint>

#include "addon.h"
#include "args.h"
#include "futex.h"
#include "throw.h"

namespace podshm {
namespace {

enum State : int { kArmed = 0, kFired = 1, kDropped = 2 };

struct Watch {
  int fd = -1;    // a duplicate of a probe's descriptor: the same open file description, which holds no lock
  int bell = -1;  // a duplicate of the bell's descriptor, or -1
  off_t start = 0;
  off_t length = 0;
  MappingRef mapping;  // keeps the word mapped while the thread may touch it
  uint32_t* word = nullptr;
  uint32_t* flag = nullptr;  // a channel's sleeping flag, or null (a mutex: swap from -> to)
  uint32_t from = 0;
  uint32_t to = 0;
  pthread_t thread{};
  bool started = false;
  std::atomic<int> state{kArmed};

  ~Watch() {
    if (fd >= 0) close(fd);
    if (bell >= 0) close(bell);
  }
};

void Fire(Watch* w) {
  struct flock fl {};
  fl.l_type = F_UNLCK;
  fl.l_whence = SEEK_SET;
  fl.l_start = w->start;
  fl.l_len = w->length;
  // Let go first, so that a waiter that looks as soon as it wakes sees no lock of ours.
  fcntl(w->fd, F_OFD_SETLK, &fl);
  w->state.store(kFired);
  if (w->mapping->detached.load()) return;
  if (w->flag == nullptr) {
    uint32_t expected = w->from;
    __atomic_compare_exchange_n(w->word, &expected, w->to, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
    FutexWake(w->word, INT_MAX);
    return;
  }
  if (__atomic_load_n(w->flag, __ATOMIC_SEQ_CST) == 0) return;
  uint32_t how = __atomic_exchange_n(w->flag, 0, __ATOMIC_SEQ_CST);
  if (how == 0) return;
  static const char kByte = 1;
  // ON_BELL (2); a full pipe has been rung already.
  if (how == 2 && w->bell >= 0 && (write(w->bell, &kByte, 1) == 1 || errno == EAGAIN)) return;
  __atomic_fetch_add(w->word, 1, __ATOMIC_SEQ_CST);
  FutexWake(w->word, INT_MAX);
}

void* Run(void* arg) {
  pthread_setname_np(pthread_self(), "podshm-watch");
  auto* w = static_cast<Watch*>(arg);
  struct flock fl {};
  fl.l_type = F_RDLCK;
  fl.l_whence = SEEK_SET;
  fl.l_start = w->start;
  fl.l_len = w->length;
  // Asynchronous cancellation for the one blocking call: not every C library makes
  // fcntl(F_OFD_SETLKW) a cancellation point (musl only F_SETLKW).
  int r;
  pthread_setcanceltype(PTHREAD_CANCEL_ASYNCHRONOUS, nullptr);
  do r = fcntl(w->fd, F_OFD_SETLKW, &fl);
  while (r != 0 && errno == EINTR);
  pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, nullptr);
  pthread_setcanceltype(PTHREAD_CANCEL_DEFERRED, nullptr);
  // Any other failure (the file system refuses locks) also ends the watch as fired: the
  // waiter then looks for itself, as it would after any wake.
  Fire(w);
  return nullptr;
}

// Marks our Externals, so that another External passed to the raw binding (a mapping
// handle, say) is refused instead of being taken for a watch.
constexpr napi_type_tag kWatchTag = {0x706f6473686d2064ULL, 0x6561746877617463ULL};

Watch* Unwrap(const Napi::Value& v) {
  if (!v.IsExternal() || !v.As<Napi::External<Watch>>().CheckTypeTag(&kWatchTag)) {
    throw Napi::TypeError::New(v.Env(), "not a death watch");
  }
  return v.As<Napi::External<Watch>>().Data();
}

void Drop(Watch* w) {
  if (w->state.exchange(kDropped) == kDropped) return;
  if (w->started) {
    pthread_cancel(w->thread);
    pthread_join(w->thread, nullptr);
    w->started = false;
  }
}

void Finalize(Napi::Env, Watch* w) {
  Drop(w);
  delete w;
}

// deathWatch.start(probeFd, start, length, handle, byteOffset, flagOffset, from, to, bellFd)
// -> watch, or null when no thread can be started (a pids limit): the caller then bounds
// its sleeps. flagOffset < 0: a mutex's word, swapped from -> to.
Napi::Value DeathWatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int probe = ArgFd(info, 0);
  int64_t start = ArgInt(info, 1);
  int64_t length = ArgInt(info, 2);
  if (start < 0 || length <= 0) throw Napi::RangeError::New(env, "lock range must be start >= 0, length > 0");
  uint32_t* word = FutexWord(info[3], ArgInt(info, 4));
  int64_t flagOffset = ArgInt(info, 5);
  uint32_t* flag = flagOffset >= 0 ? FutexWord(info[3], flagOffset) : nullptr;
  uint32_t from = static_cast<uint32_t>(ArgInt(info, 6));
  uint32_t to = static_cast<uint32_t>(ArgInt(info, 7));
  int bell = static_cast<int>(ArgInt(info, 8));
  auto* w = new Watch();
  w->start = static_cast<off_t>(start);
  w->length = static_cast<off_t>(length);
  w->mapping = MappingRefOf(info[3]);
  w->word = word;
  w->flag = flag;
  w->from = from;
  w->to = to;
  w->fd = fcntl(probe, F_DUPFD_CLOEXEC, 0);
  if (w->fd < 0 || (bell >= 0 && (w->bell = fcntl(bell, F_DUPFD_CLOEXEC, 0)) < 0)) {
    int err = errno;
    delete w;
    ThrowErrno(env, "fcntl", err);
  }
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 64 * 1024);
  sigset_t all, old;
  sigfillset(&all);
  // The thread takes no signal of the process's: they stay with the threads that handle them.
  pthread_sigmask(SIG_SETMASK, &all, &old);
  int err = pthread_create(&w->thread, &attr, Run, w);
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  pthread_attr_destroy(&attr);
  if (err != 0) {
    delete w;
    return env.Null();
  }
  w->started = true;
  auto handle = Napi::External<Watch>::New(env, w, Finalize);
  handle.TypeTag(&kWatchTag);
  return handle;
}

Napi::Value DeathWatchFired(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), Unwrap(info[0])->state.load() == kFired);
}

// deathWatch.stop(watch): stops the thread (at once; a fire under way completes first).
Napi::Value DeathUnwatch(const Napi::CallbackInfo& info) {
  Drop(Unwrap(info[0]));
  return info.Env().Undefined();
}

const Export kExports[] = {
    {"start", DeathWatch},
    {"fired", DeathWatchFired},
    {"stop", DeathUnwatch},
};

}  // namespace

const Group kDeathWatch = MakeGroup("deathWatch", kExports);

}  // namespace podshm
