// POSIX message queues. Every descriptor is opened O_NONBLOCK (the kernel adds
// close-on-exec to every mq descriptor itself), so a try is one system call and the
// event loop can watch the descriptor with uv_poll: readable while a message waits,
// writable while there is room (docs/design.md, "Waiting"). A caller that asks to block gets
// O_NONBLOCK cleared for that one call only.
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <poll.h>

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

// Runs op (non-blocking: every descriptor is O_NONBLOCK) once; if the queue is full (or
// empty) and the caller allows waiting (timeoutMs < 0: for ever), polls the descriptor
// and runs op again until it succeeds or the wait ends, but for at most kSliceMs: a
// Worker being terminated (or process.exit() while one is blocked here) cannot
// interrupt a system call, only JavaScript. A slice that ends before the caller's
// timeout fails with EINTR, and lib/ calls again with the time left. poll() and the
// monotonic clock, not mq_timed*()'s CLOCK_REALTIME deadline, which a clock stepped
// back would stretch. Returns op's result; errno set.
template <typename Op>
ssize_t Timed(mqd_t fd, short events, double timeoutMs, Op op) {
  ssize_t r = op();
  if (r >= 0 || errno != EAGAIN || timeoutMs == 0) return r;
  bool sliced = timeoutMs < 0 || timeoutMs > kSliceMs;
  int64_t end = MonotonicNs() + static_cast<int64_t>((sliced ? static_cast<double>(kSliceMs) : timeoutMs) * 1e6);
  for (;;) {
    int64_t left = end - MonotonicNs();
    if (left <= 0) {
      errno = sliced ? EINTR : ETIMEDOUT;
      return -1;
    }
    struct pollfd p = {fd, events, 0};
    // Another reader or writer may take what poll() saw: op() then says EAGAIN again.
    if (poll(&p, 1, static_cast<int>((left + 999999) / 1000000)) < 0 && errno != EINTR) return -1;
    r = op();
    if (r >= 0 || errno != EAGAIN) return r;
  }
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
  mqd_t fd = mq_open(name.c_str(), flags | O_NONBLOCK | O_CLOEXEC, mode, attr.mq_maxmsg > 0 ? &attr : nullptr);
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

// mq.send(fd, data, priority, timeoutMs) -> 0, or -EAGAIN (full, timeoutMs 0),
// -ETIMEDOUT, or -EINTR (a slice ended: call again); anything else throws.
// timeoutMs < 0 waits for ever.
Napi::Value Send(const Napi::CallbackInfo& info) {
  mqd_t fd = ArgFd(info, 0);
  Bytes data = ArgBytes(info, 1);
  unsigned priority = static_cast<unsigned>(ArgInt(info, 2));
  double timeoutMs = static_cast<double>(ArgTimeoutMs(info, 3));
  // An empty message still needs a pointer: mq_send declares it non-null.
  ssize_t r = Timed(fd, POLLOUT, timeoutMs,
                    [&]() -> ssize_t { return mq_send(fd, data.length > 0 ? data.data : "", data.length, priority); });
  if (r < 0) {
    if (errno == EAGAIN || errno == ETIMEDOUT || errno == EINTR) return Napi::Number::New(info.Env(), -errno);
    ThrowErrno(info.Env(), "mq_send", errno);
  }
  return Napi::Number::New(info.Env(), 0);
}

// mq.receive(fd, target, timeoutMs) -> size * 32768 + priority, or -EAGAIN / -ETIMEDOUT /
// -EINTR (a slice ended: call again).
Napi::Value Receive(const Napi::CallbackInfo& info) {
  mqd_t fd = ArgFd(info, 0);
  Bytes target = ArgBytes(info, 1);
  double timeoutMs = static_cast<double>(ArgTimeoutMs(info, 2));
  unsigned priority = 0;
  ssize_t r =
      Timed(fd, POLLIN, timeoutMs, [&]() -> ssize_t { return mq_receive(fd, target.data, target.length, &priority); });
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
