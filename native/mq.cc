// POSIX message queues (docs/design.md, "Waiting"). The event loop watches a descriptor
// with uv_poll: readable while a message waits, writable while there is room. The
// descriptor itself stays blocking, so that a blocking call sleeps in mq_timedreceive
// (or mq_timedsend) itself, as C does: there the kernel hands a message straight to
// the receiver it wakes, one system call per message where a try, poll() and a second
// try took three. A try passes a deadline of 0, which the kernel takes as "do not
// wait", so it is one system call too. (The kernel adds close-on-exec to every mq
// descriptor itself.)
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <time.h>

#include <string>

#include "addon.h"
#include "args.h"
#include "futex.h"
#include "throw.h"

namespace podshm {
namespace {

// Priorities are below MQ_PRIO_MAX (32768) and sizes at most HARD_MSGSIZEMAX (16 MiB),
// so size * 32768 + priority is an exact double: one number back, no object to build.
constexpr double kPriorityRadix = 32768;

struct Bytes {
  char* data;
  size_t length;
};

// A Uint8Array (or Buffer) over an ArrayBuffer or a SharedArrayBuffer; read afresh on
// every call, so a detached buffer is simply empty.
Bytes ArgBytes(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || !info[i].IsTypedArray()) {
    throw Napi::TypeError::New(info.Env(), "argument " + std::to_string(i) + " must be a Uint8Array");
  }
  napi_typedarray_type type;
  size_t length = 0;
  void* data = nullptr;
  napi_status status = napi_get_typedarray_info(info.Env(), info[i], &type, &length, &data, nullptr, nullptr);
  if (status != napi_ok || type != napi_uint8_array) {
    throw Napi::TypeError::New(info.Env(), "argument " + std::to_string(i) + " must be a Uint8Array");
  }
  return {static_cast<char*>(data), data == nullptr ? 0 : length};
}

// Runs op(deadline), deadline null for none. timeoutMs 0 tries once (ETIMEDOUT becomes EAGAIN). Otherwise it
// first tries for up to spinNs (lib/'s adaptive spin budget: an answer that comes
// meanwhile costs no sleep and no wake-up), then sleeps in op: without any deadline when
// the wait has no limit (a wait that never ends needs no timer), else until the
// deadline. `sliced` (a Worker's thread, which terminate() must be able to reach: a
// system call cannot be interrupted, only JavaScript) ends a longer wait after kSliceMs
// with EINTR, and lib/ calls again with the time left. mq_timed*() take a CLOCK_REALTIME
// deadline only: one that a step of the clock brings forward also says EINTR (lib/
// measures what is left on the monotonic clock), and one it pushes back stretches that
// call by the step. Returns op's result; errno set.
template <typename Op>
ssize_t Timed(int64_t timeoutMs, bool sliced, int64_t spinNs, Op op) {
  // Writable, and set afresh for every call: qemu-user writes the deadline back after a
  // call that succeeds, and fails it with EFAULT if it cannot.
  timespec now = {0, 0};
  if (timeoutMs == 0) {
    ssize_t r = op(&now);
    if (r < 0 && errno == ETIMEDOUT) errno = EAGAIN;
    return r;
  }
  sliced = sliced && (timeoutMs < 0 || timeoutMs > kSliceMs);
  int64_t waitNs = timeoutMs < 0 && !sliced ? -1 : (sliced ? kSliceMs : timeoutMs) * 1000000;
  int64_t start = MonotonicNs();
  if (spinNs > 0) {
    int64_t spinEnd = start + (waitNs >= 0 && waitNs < spinNs ? waitNs : spinNs);
    do {
      now = {0, 0};
      ssize_t r = op(&now);
      if (r >= 0 || errno != ETIMEDOUT) return r;
    } while (MonotonicNs() < spinEnd);
  }
  if (waitNs < 0) {
    for (;;) {
      ssize_t r = op(nullptr);
      if (r >= 0 || errno != EINTR) return r;
    }
  }
  int64_t end = start + waitNs;
  int64_t left = end - MonotonicNs();
  timespec realNow;
  clock_gettime(CLOCK_REALTIME, &realNow);
  timespec deadline =
      ToTimespec(static_cast<int64_t>(realNow.tv_sec) * 1000000000 + realNow.tv_nsec + (left > 0 ? left : 0));
  ssize_t r = op(&deadline);
  if (r < 0 && errno == ETIMEDOUT && (sliced || MonotonicNs() < end)) errno = EINTR;
  return r;
}

// mq.open(name, flags, mode, maxMessages, messageSize) -> fd. maxMessages 0 passes no
// attributes (opening an existing queue).
Napi::Value Open(const Napi::CallbackInfo& info) {
  std::string name = ArgString(info, 0);
  int flags = static_cast<int>(ArgInt(info, 1));
  mode_t mode = static_cast<mode_t>(ArgInt(info, 2));
  struct mq_attr attr = {};
  attr.mq_maxmsg = static_cast<long>(ArgInt(info, 3));
  attr.mq_msgsize = static_cast<long>(ArgInt(info, 4));
  mqd_t fd = mq_open(name.c_str(), flags | O_CLOEXEC, mode, attr.mq_maxmsg > 0 ? &attr : nullptr);
  if (fd == static_cast<mqd_t>(-1)) ThrowErrno(info.Env(), "mq_open", errno);
  return Napi::Number::New(info.Env(), fd);
}

Napi::Value GetAttr(const Napi::CallbackInfo& info) {
  struct mq_attr attr;
  if (mq_getattr(ArgFd(info, 0), &attr) != 0) ThrowErrno(info.Env(), "mq_getattr", errno);
  Napi::Env env = info.Env();
  Napi::Object result = Napi::Object::New(env);
  result.Set("maxMessages", Napi::Number::New(env, attr.mq_maxmsg));
  result.Set("messageSize", Napi::Number::New(env, attr.mq_msgsize));
  result.Set("currentMessages", Napi::Number::New(env, attr.mq_curmsgs));
  return result;
}

// mq.send(fd, data, priority, timeoutMs, sliced, spinNs) -> 0, or -EAGAIN (full, timeoutMs 0),
// -ETIMEDOUT, or -EINTR (a slice ended: call again); anything else throws.
// timeoutMs < 0 waits for ever.
Napi::Value Send(const Napi::CallbackInfo& info) {
  mqd_t fd = ArgFd(info, 0);
  Bytes data = ArgBytes(info, 1);
  unsigned priority = static_cast<unsigned>(ArgInt(info, 2));
  int64_t timeoutMs = ArgTimeoutMs(info, 3);
  bool sliced = timeoutMs != 0 && ArgBool(info, 4);
  int64_t spinNs = timeoutMs != 0 ? ArgInt(info, 5) : 0;
  // An empty message still needs a pointer: mq_send declares it non-null.
  ssize_t r = Timed(timeoutMs, sliced, spinNs, [&](const timespec* deadline) -> ssize_t {
    const char* bytes = data.length > 0 ? data.data : "";
    // glibc declares the deadline non-null: mq_send is the call without one.
    return deadline != nullptr ? mq_timedsend(fd, bytes, data.length, priority, deadline)
                               : mq_send(fd, bytes, data.length, priority);
  });
  if (r < 0) {
    if (errno == EAGAIN || errno == ETIMEDOUT || errno == EINTR) return Napi::Number::New(info.Env(), -errno);
    ThrowErrno(info.Env(), "mq_send", errno);
  }
  return Napi::Number::New(info.Env(), 0);
}

// mq.receive(fd, target, timeoutMs, sliced, spinNs) -> size * 32768 + priority, or -EAGAIN /
// -ETIMEDOUT / -EINTR (a slice ended: call again).
Napi::Value Receive(const Napi::CallbackInfo& info) {
  mqd_t fd = ArgFd(info, 0);
  Bytes target = ArgBytes(info, 1);
  int64_t timeoutMs = ArgTimeoutMs(info, 2);
  bool sliced = timeoutMs != 0 && ArgBool(info, 3);
  int64_t spinNs = timeoutMs != 0 ? ArgInt(info, 4) : 0;
  unsigned priority = 0;
  ssize_t r = Timed(timeoutMs, sliced, spinNs, [&](const timespec* deadline) -> ssize_t {
    return deadline != nullptr ? mq_timedreceive(fd, target.data, target.length, &priority, deadline)
                               : mq_receive(fd, target.data, target.length, &priority);
  });
  if (r < 0) {
    if (errno == EAGAIN || errno == ETIMEDOUT || errno == EINTR) return Napi::Number::New(info.Env(), -errno);
    ThrowErrno(info.Env(), "mq_receive", errno);
  }
  return Napi::Number::New(info.Env(), static_cast<double>(r) * kPriorityRadix + priority);
}

Napi::Value Unlink(const Napi::CallbackInfo& info) {
  std::string name = ArgString(info, 0);
  if (mq_unlink(name.c_str()) != 0) ThrowErrno(info.Env(), "mq_unlink", errno);
  return info.Env().Undefined();
}

const Export kExports[] = {
    {"open", Open}, {"attributes", GetAttr}, {"send", Send}, {"receive", Receive}, {"unlink", Unlink},
};

}  // namespace

const Group kMq = MakeGroup("mq", kExports);

}  // namespace podshm
