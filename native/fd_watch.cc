// A descriptor the event loop watches (uv_poll): a message queue's (readable while a
// message waits, writable while there is room; docs/design.md, "Waiting") or a channel's bell
// (readable once rung). The handle owns the descriptor.
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <uv.h>

#include <string>

#include "addon.h"
#include "args.h"
#include "throw.h"

namespace podshm {
namespace {

// The poll handle is made on the first watch and always closed (uv_close) before the
// descriptor: libuv removes the descriptor from its epoll set when the handle closes,
// and doing that after close() could remove a reused descriptor number belonging to
// someone else.
class FdWatch {
 public:
  FdWatch(napi_env env, int fd, Napi::Function callback) : env_(env), fd_(fd), callback_(Napi::Weak(callback)) {}
  ~FdWatch() { Close(); }

  // events: UV_READABLE | UV_WRITABLE, 0 to stop. A watch starts held.
  void Watch(Napi::Env env, int events) {
    if (fd_ < 0) ThrowErrno(env, "uv_poll_start", EBADF);
    if (events == 0) {
      if (poll_ != nullptr && watching_) {
        uv_poll_stop(&poll_->handle);
        watching_ = false;
        Hold(env, false);
      }
      return;
    }
    if (callback_.Value().IsEmpty()) throw Napi::Error::New(env, "the watch's callback was collected");
    if (poll_ == nullptr) Init(env);
    int err = uv_poll_start(&poll_->handle, events, OnPoll);
    if (err != 0) ThrowErrno(env, "uv_poll_start", -err);
    watching_ = true;
    Hold(env, true);
  }

  // A held watch keeps the callback alive (its closure holds the JavaScript owner and
  // its pending calls) and the event loop running. An unheld one still watches, at no
  // system call: a descriptor that seldom becomes readable while nobody waits (a bell)
  // can stay watched between waits and be held only while someone waits, where
  // stopping and starting the watch each time costs epoll_ctl calls.
  void Hold(Napi::Env env, bool hold) {
    if (hold == held_ || (hold && !watching_)) return;
    if (hold && callback_.Value().IsEmpty()) throw Napi::Error::New(env, "the watch's callback was collected");
    held_ = hold;
    if (hold) {
      uv_ref(reinterpret_cast<uv_handle_t*>(&poll_->handle));
      callback_.Ref();
    } else {
      if (poll_ != nullptr) uv_unref(reinterpret_cast<uv_handle_t*>(&poll_->handle));
      callback_.Unref();
    }
  }

  void Close() {
    if (fd_ < 0) return;
    if (poll_ != nullptr) {
      poll_->handle.data = nullptr;
      uv_close(reinterpret_cast<uv_handle_t*>(&poll_->handle), OnClosed);
      poll_ = nullptr;
    }
    close(fd_);
    fd_ = -1;
    // Also runs from the finalizer, where throwing is not an option.
    uint32_t count;
    if (held_) napi_reference_unref(env_, callback_, &count);
    watching_ = held_ = false;
  }

 private:
  // The handle outlives the FdWatch until libuv calls OnClosed; the async cleanup hook
  // makes Node wait for that when the environment (a Worker, or the process) ends.
  struct Poll {
    uv_poll_t handle;
    napi_async_cleanup_hook_handle hook = nullptr;
  };

  void Init(Napi::Env env) {
    uv_loop_t* loop = nullptr;
    if (napi_get_uv_event_loop(env, &loop) != napi_ok) throw Napi::Error::New(env, "no event loop");
    Poll* poll = new Poll();
    int flags = fcntl(fd_, F_GETFL);
    int err = uv_poll_init(loop, &poll->handle, fd_);
    if (err != 0) {
      delete poll;
      ThrowErrno(env, "uv_poll_init", -err);
    }
    // uv_poll_init makes the descriptor non-blocking, though libuv never reads it: the
    // owner's choice stands (a message queue's blocking calls sleep in the kernel's own
    // wait, native/mq.cc).
    if (flags >= 0 && (flags & O_NONBLOCK) == 0) fcntl(fd_, F_SETFL, flags);
    poll->handle.data = this;
    napi_add_async_cleanup_hook(env, OnEnvironmentEnd, poll, &poll->hook);
    poll_ = poll;
  }

  // Closes the watch if it is still open; if it is already closing, OnClosed will
  // remove the hook and so tell Node it is done.
  static void OnEnvironmentEnd(napi_async_cleanup_hook_handle, void* arg) {
    FdWatch* self = static_cast<FdWatch*>(static_cast<Poll*>(arg)->handle.data);
    if (self != nullptr) self->Close();
  }

  static void OnClosed(uv_handle_t* handle) {
    Poll* poll = reinterpret_cast<Poll*>(handle);
    if (poll->hook != nullptr) napi_remove_async_cleanup_hook(poll->hook);
    delete poll;
  }

  static void OnPoll(uv_poll_t* handle, int status, int events) {
    FdWatch* self = static_cast<FdWatch*>(handle->data);
    if (self == nullptr) return;
    Napi::Env env(self->env_);
    Napi::HandleScope scope(env);
    Napi::Function callback = self->callback_.Value();
    if (callback.IsEmpty()) {
      // Collected while unheld: nobody would ever read the descriptor, and a readable
      // one would be reported on every turn of the loop.
      uv_poll_stop(handle);
      self->watching_ = false;
      return;
    }
    // The callback may close the watch and drop the last reference to it: self is not
    // used after this call. napi_make_callback, not a call: it runs the microtasks (the
    // settled promises) afterwards. The C API, not node-addon-api's, because the call
    // fails without an exception while a Worker is being terminated, and that must end
    // here quietly rather than as a C++ exception out of a libuv callback.
    napi_value argv[2] = {Napi::Number::New(env, status), Napi::Number::New(env, events)};
    napi_value result;
    if (napi_make_callback(env, nullptr, env.Global(), callback, 2, argv, &result) == napi_pending_exception) {
      ReportUncaught(env);
    }
  }

  napi_env env_;
  int fd_;
  Poll* poll_ = nullptr;
  bool watching_ = false;
  bool held_ = false;
  Napi::FunctionReference callback_;
};

constexpr napi_type_tag kFdWatchTag = {0x706f6473686d2066ULL, 0x6477617463680000ULL};

FdWatch* UnwrapWatch(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || !info[i].IsExternal() || !info[i].As<Napi::External<FdWatch>>().CheckTypeTag(&kFdWatchTag)) {
    throw Napi::TypeError::New(info.Env(), "argument " + std::to_string(i) + " must be a watch handle");
  }
  return info[i].As<Napi::External<FdWatch>>().Data();
}

// fdWatch.adopt(fd, callback) -> handle. The handle owns the descriptor from now on:
// close it with fdWatch.close (or let the handle be collected). callback(status, events).
Napi::Value Adopt(const Napi::CallbackInfo& info) {
  int fd = ArgFd(info, 0);
  if (info.Length() < 2 || !info[1].IsFunction()) throw Napi::TypeError::New(info.Env(), "argument 1 must be a function");
  FdWatch* watch = new FdWatch(info.Env(), fd, info[1].As<Napi::Function>());
  auto handle = Napi::External<FdWatch>::New(info.Env(), watch, [](Napi::Env, FdWatch* w) { delete w; });
  handle.TypeTag(&kFdWatchTag);
  return handle;
}

Napi::Value Watch(const Napi::CallbackInfo& info) {
  UnwrapWatch(info, 0)->Watch(info.Env(), static_cast<int>(ArgInt(info, 1)) & (UV_READABLE | UV_WRITABLE));
  return info.Env().Undefined();
}

Napi::Value Hold(const Napi::CallbackInfo& info) {
  UnwrapWatch(info, 0)->Hold(info.Env(), ArgBool(info, 1));
  return info.Env().Undefined();
}

Napi::Value Close(const Napi::CallbackInfo& info) {
  UnwrapWatch(info, 0)->Close();
  return info.Env().Undefined();
}

const Export kExports[] = {
    {"adopt", Adopt},
    {"watch", Watch},
    {"hold", Hold},
    {"close", Close},
};

}  // namespace

const Group kFdWatch = MakeGroup("fdWatch", kExports);

}  // namespace podshm
