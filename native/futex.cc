// Blocking futex waits and wakes on words of a shared mapping (docs/design.md, "Waiting"): the
// shared futex (no FUTEX_PRIVATE_FLAG), so waiters and wakers in other processes, and
// other PID namespaces, meet on the same physical word.
#include "futex.h"

#include <errno.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "addon.h"
#include "args.h"
#include "throw.h"

namespace podshm {

uint32_t* FutexWord(const Napi::Value& handle, int64_t byteOffset) {
  Mapping& m = UnwrapMapping(handle);
  if (byteOffset % 4 != 0) throw Napi::RangeError::New(handle.Env(), "futex word offset must be a multiple of 4");
  void* p = m.At(byteOffset, 4);
  if (p == nullptr) throw Napi::RangeError::New(handle.Env(), "futex word outside the mapping");
  return static_cast<uint32_t*>(p);
}

MappingRef MappingRefOf(const Napi::Value& handle) {
  UnwrapMapping(handle);  // checks the type tag
  return *handle.As<Napi::External<MappingRef>>().Data();
}

int64_t MonotonicNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

timespec ToTimespec(int64_t ns) {
  timespec ts;
  ts.tv_sec = ns / 1000000000;
  ts.tv_nsec = ns % 1000000000;
  return ts;
}

int FutexWake(uint32_t* word, int count, bool shared) {
  int op = FUTEX_WAKE | (shared ? 0 : FUTEX_PRIVATE_FLAG);
  long r = syscall(SYS_futex, word, op, count, nullptr, nullptr, 0);
  return r < 0 ? 0 : static_cast<int>(r);
}

namespace {

// Beyond this (about 292 years of nanoseconds / 2) a timeout means no limit.
constexpr int64_t kForeverMs = INT64_MAX / 2000000;

constexpr int64_t kSliceNs = kSliceMs * 1000000;

// futex.wait(handle, byteOffset, expected, timeoutMs, sliced) -> 'ok' | 'timeout' |
// 'mismatch' | 'slice'. timeoutMs < 0 waits without limit. `sliced` (a Worker's
// thread, which terminate() must be able to reach) bounds one call to kSliceNs; the
// main thread passes false and sleeps until woken or timed out (issue 26). The deadline is absolute (FUTEX_WAIT_BITSET
// on CLOCK_MONOTONIC), so a signal (EINTR) resumes with exactly the time that is left.
// 'ok' means woken (possibly spuriously): the caller re-checks the word.
Napi::Value FutexWait(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t* word = FutexWord(info[0], ArgInt(info, 1));
  uint32_t expected = static_cast<uint32_t>(ArgInt(info, 2));
  int64_t timeoutMs = ArgTimeoutMs(info, 3);
  int64_t now = MonotonicNs();
  bool limited = timeoutMs >= 0 && timeoutMs < kForeverMs;
  int64_t end = limited ? now + timeoutMs * 1000000 : INT64_MAX;
  bool sliced = (info.Length() < 5 || ArgBool(info, 4)) && end - now > kSliceNs;
  timespec deadline = ToTimespec(sliced ? now + kSliceNs : end);
  // No timer at all for a wait without an end: the kernel arms one for any deadline given.
  timespec* until = sliced || limited ? &deadline : nullptr;
  for (;;) {
    long r = syscall(SYS_futex, word, FUTEX_WAIT_BITSET, expected, until, nullptr, FUTEX_BITSET_MATCH_ANY);
    if (r == 0) return Napi::String::New(env, "ok");
    if (errno == EINTR) continue;
    // EFAULT: a peer shrank the object under the word meanwhile; the caller re-reads it
    // (the fault guard gives such pages zeros), as after any change of value.
    if (errno == EAGAIN || errno == EFAULT) return Napi::String::New(env, "mismatch");
    if (errno == ETIMEDOUT) return Napi::String::New(env, sliced ? "slice" : "timeout");
    ThrowErrno(env, "futex", errno);
  }
}

// futex.wake(handle, byteOffset, count) -> number of waiters woken.
Napi::Value FutexWakeJs(const Napi::CallbackInfo& info) {
  uint32_t* word = FutexWord(info[0], ArgInt(info, 1));
  int64_t count = ArgInt(info, 2);
  if (count < 1 || count > INT32_MAX) throw Napi::RangeError::New(info.Env(), "count must be 1..2^31-1");
  return Napi::Number::New(info.Env(), FutexWake(word, static_cast<int>(count)));
}

Napi::Value SliceMs(Napi::Env env) { return Napi::Number::New(env, static_cast<double>(kSliceMs)); }

const Export kExports[] = {
    {"wait", FutexWait},
    {"wake", FutexWakeJs},
    {"sliceMs", nullptr, SliceMs},
};

}  // namespace

const Group kFutex = MakeGroup("futex", kExports);

}  // namespace podshm
