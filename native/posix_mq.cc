// POSIX message queues. Every descriptor is opened O_NONBLOCK (the kernel adds
// close-on-exec to every mq descriptor itself), so a try is one system call and the
// event loop can watch the descriptor with uv_poll: readable while a message waits,
// writable while there is room (DESIGN.md 2.6). A caller that asks to block gets
// O_NONBLOCK cleared for that one call only.
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <sys/stat.h>
#include <time.h>
#include <uv.h>

#include <string>

#include "errors.h"
#include "registry.h"

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

void SetNonBlocking(mqd_t fd, bool on) {
  struct mq_attr attr = {};
  attr.mq_flags = on ? O_NONBLOCK : 0;
  mq_setattr(fd, &attr, nullptr);
}

// Runs op once without blocking; if the queue is full (or empty) and the caller
// allows waiting (timeoutMs < 0: for ever), runs it again in blocking mode until the
// absolute CLOCK_REALTIME deadline POSIX asks for, but for at most kSliceMs: a Worker
// being terminated (or process.exit() while one is blocked here) cannot interrupt a
// system call, only JavaScript. A slice that ends before the caller's timeout fails
// with EINTR, and lib/ calls again with the time left. Returns op's result; errno set.
constexpr double kSliceMs = 100;

template <typename Op>
ssize_t Timed(mqd_t fd, double timeoutMs, Op op) {
  ssize_t r = op(nullptr);
  if (r >= 0 || errno != EAGAIN || timeoutMs == 0) return r;
  bool sliced = timeoutMs < 0 || timeoutMs > kSliceMs;
  double waitMs = sliced ? kSliceMs : timeoutMs;
  struct timespec deadline;
  clock_gettime(CLOCK_REALTIME, &deadline);
  int64_t ns = deadline.tv_nsec + static_cast<int64_t>(waitMs * 1e6);
  deadline.tv_sec += ns / 1000000000;
  deadline.tv_nsec = ns % 1000000000;
  SetNonBlocking(fd, false);
  do {
    r = op(&deadline);
  } while (r < 0 && errno == EINTR);
  int err = errno;
  SetNonBlocking(fd, true);
  errno = r < 0 && err == ETIMEDOUT && sliced ? EINTR : err;
  return r;
}

// mqOpen(name, flags, mode, maxMessages, messageSize) -> fd. maxMessages 0 passes no
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

// mqSetMode(fd, mode): mq_open filters the mode through the umask; the caller asked
// for exactly this one.
Napi::Value SetMode(const Napi::CallbackInfo& info) {
  if (fchmod(ArgFd(info, 0), static_cast<mode_t>(ArgInt(info, 1))) != 0) {
    ThrowErrno(info.Env(), "fchmod", errno);
  }
  return info.Env().Undefined();
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

// mqSend(fd, data, priority, timeoutMs) -> 0, or -EAGAIN (full, timeoutMs 0),
// -ETIMEDOUT, or -EINTR (a slice ended: call again); anything else throws.
// timeoutMs < 0 waits for ever.
Napi::Value Send(const Napi::CallbackInfo& info) {
  mqd_t fd = ArgFd(info, 0);
  Bytes data = ArgBytes(info, 1);
  unsigned priority = static_cast<unsigned>(ArgInt(info, 2));
  double timeoutMs = static_cast<double>(ArgTimeoutMs(info, 3));
  ssize_t r = Timed(fd, timeoutMs, [&](const struct timespec* until) -> ssize_t {
    return until ? mq_timedsend(fd, data.data, data.length, priority, until) : mq_send(fd, data.data, data.length, priority);
  });
  if (r < 0) {
    if (errno == EAGAIN || errno == ETIMEDOUT || errno == EINTR) return Napi::Number::New(info.Env(), -errno);
    ThrowErrno(info.Env(), "mq_send", errno);
  }
  return Napi::Number::New(info.Env(), 0);
}

// mqReceive(fd, target, timeoutMs) -> size * 32768 + priority, or -EAGAIN / -ETIMEDOUT /
// -EINTR (a slice ended: call again).
Napi::Value Receive(const Napi::CallbackInfo& info) {
  mqd_t fd = ArgFd(info, 0);
  Bytes target = ArgBytes(info, 1);
  double timeoutMs = static_cast<double>(ArgTimeoutMs(info, 2));
  unsigned priority = 0;
  ssize_t r = Timed(fd, timeoutMs, [&](const struct timespec* until) -> ssize_t {
    return until ? mq_timedreceive(fd, target.data, target.length, &priority, until)
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

// Owns one queue descriptor and the uv_poll handle that watches it. The poll handle
// is made on the first wait and always closed (uv_close) before the descriptor:
// libuv removes the descriptor from its epoll set when the handle closes, and doing
// that after close() could remove a reused descriptor number belonging to someone else.
class Queue {
 public:
  Queue(napi_env env, mqd_t fd, Napi::Function callback) : env_(env), fd_(fd), callback_(Napi::Weak(callback)) {}
  ~Queue() { Close(); }

  // events: UV_READABLE | UV_WRITABLE, 0 to stop. While watching, the callback is held
  // strongly (its closure keeps the JavaScript queue and its pending calls alive) and
  // the active handle keeps the event loop alive; stopped, neither.
  void Watch(Napi::Env env, int events) {
    if (fd_ < 0) ThrowErrno(env, "uv_poll_start", EBADF);
    if (events == 0) {
      if (poll_ != nullptr && watching_) {
        uv_poll_stop(&poll_->handle);
        callback_.Unref();
        watching_ = false;
      }
      return;
    }
    if (callback_.Value().IsEmpty()) throw Napi::Error::New(env, "the queue's callback was collected");
    if (poll_ == nullptr) Init(env);
    int err = uv_poll_start(&poll_->handle, events, OnPoll);
    if (err != 0) ThrowErrno(env, "uv_poll_start", -err);
    if (!watching_) callback_.Ref();
    watching_ = true;
  }

  void Close() {
    if (fd_ < 0) return;
    if (poll_ != nullptr) {
      poll_->handle.data = nullptr;
      uv_close(reinterpret_cast<uv_handle_t*>(&poll_->handle), OnClosed);
      poll_ = nullptr;
    }
    mq_close(fd_);
    fd_ = -1;
    // Also runs from the finalizer, where throwing is not an option.
    uint32_t count;
    if (watching_) napi_reference_unref(env_, callback_, &count);
    watching_ = false;
  }

 private:
  // The handle outlives the Queue until libuv calls OnClosed; the async cleanup hook
  // makes Node wait for that when the environment (a Worker, or the process) ends.
  struct Poll {
    uv_poll_t handle;
    napi_async_cleanup_hook_handle hook = nullptr;
  };

  void Init(Napi::Env env) {
    uv_loop_t* loop = nullptr;
    if (napi_get_uv_event_loop(env, &loop) != napi_ok) throw Napi::Error::New(env, "no event loop");
    Poll* poll = new Poll();
    int err = uv_poll_init(loop, &poll->handle, fd_);
    if (err != 0) {
      delete poll;
      ThrowErrno(env, "uv_poll_init", -err);
    }
    poll->handle.data = this;
    napi_add_async_cleanup_hook(env, OnEnvironmentEnd, poll, &poll->hook);
    poll_ = poll;
  }

  // Closes the queue if it is still open; if it is already closing, OnClosed will
  // remove the hook and so tell Node it is done.
  static void OnEnvironmentEnd(napi_async_cleanup_hook_handle, void* arg) {
    Queue* self = static_cast<Queue*>(static_cast<Poll*>(arg)->handle.data);
    if (self != nullptr) self->Close();
  }

  static void OnClosed(uv_handle_t* handle) {
    Poll* poll = reinterpret_cast<Poll*>(handle);
    if (poll->hook != nullptr) napi_remove_async_cleanup_hook(poll->hook);
    delete poll;
  }

  static void OnPoll(uv_poll_t* handle, int status, int events) {
    Queue* self = static_cast<Queue*>(handle->data);
    if (self == nullptr) return;
    Napi::Env env(self->env_);
    Napi::HandleScope scope(env);
    Napi::Function callback = self->callback_.Value();
    if (callback.IsEmpty()) return;
    // The callback may close the queue and drop the last reference to it: self is not
    // used after this call.
    try {
      // MakeCallback, not Call: it runs the microtasks (the settled promises) afterwards.
      callback.MakeCallback(env.Global(), {Napi::Number::New(env, status), Napi::Number::New(env, events)});
    } catch (const Napi::Error& e) {
      napi_fatal_exception(env, e.Value());
    }
  }

  napi_env env_;
  mqd_t fd_;
  Poll* poll_ = nullptr;
  bool watching_ = false;
  Napi::FunctionReference callback_;
};

constexpr napi_type_tag kQueueTag = {0x706f6473686d7120ULL, 0x6d712071756575ULL};

Queue* UnwrapQueue(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || !info[i].IsExternal() || !info[i].As<Napi::External<Queue>>().CheckTypeTag(&kQueueTag)) {
    throw Napi::TypeError::New(info.Env(), "argument " + std::to_string(i) + " must be a message queue handle");
  }
  return info[i].As<Napi::External<Queue>>().Data();
}

// mqAdopt(fd, callback) -> handle. The handle owns the descriptor from now on: close
// it with mqClose (or let the handle be collected). callback(status, events).
Napi::Value Adopt(const Napi::CallbackInfo& info) {
  mqd_t fd = ArgFd(info, 0);
  if (info.Length() < 2 || !info[1].IsFunction()) throw Napi::TypeError::New(info.Env(), "argument 1 must be a function");
  Queue* queue = new Queue(info.Env(), fd, info[1].As<Napi::Function>());
  auto handle = Napi::External<Queue>::New(info.Env(), queue, [](Napi::Env, Queue* q) { delete q; });
  handle.TypeTag(&kQueueTag);
  return handle;
}

Napi::Value Watch(const Napi::CallbackInfo& info) {
  UnwrapQueue(info, 0)->Watch(info.Env(), static_cast<int>(ArgInt(info, 1)) & (UV_READABLE | UV_WRITABLE));
  return info.Env().Undefined();
}

Napi::Value Close(const Napi::CallbackInfo& info) {
  UnwrapQueue(info, 0)->Close();
  return info.Env().Undefined();
}

void Init(Napi::Env env, Napi::Object exports) {
  exports.Set("mqOpen", Napi::Function::New(env, Open, "mqOpen"));
  exports.Set("mqSetMode", Napi::Function::New(env, SetMode, "mqSetMode"));
  exports.Set("mqGetattr", Napi::Function::New(env, GetAttr, "mqGetattr"));
  exports.Set("mqSend", Napi::Function::New(env, Send, "mqSend"));
  exports.Set("mqReceive", Napi::Function::New(env, Receive, "mqReceive"));
  exports.Set("mqUnlink", Napi::Function::New(env, Unlink, "mqUnlink"));
  exports.Set("mqAdopt", Napi::Function::New(env, Adopt, "mqAdopt"));
  exports.Set("mqWatch", Napi::Function::New(env, Watch, "mqWatch"));
  exports.Set("mqClose", Napi::Function::New(env, Close, "mqClose"));
}

}  // namespace

PODSHM_REGISTER(posix_mq, Init);

}  // namespace podshm
