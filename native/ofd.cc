// Open-file-description locks (F_OFD_SETLK / F_OFD_GETLK) for participant liveness.
// The kernel drops an OFD lock when the last descriptor of its open file description
// closes, which includes the death of the process by any signal; and unlike process
// ids, a lock on a shared file means the same thing in every PID namespace. Locks may
// lie beyond the end of the file, so lock offsets never touch the data.
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include "addon.h"
#include "args.h"
#include "throw.h"

namespace podshm {
namespace {

// ofd.open(path, writable) -> a descriptor of its own open file description, for locks;
// the environment's teardown closes it if ofd.close does not (native/addon.h).
Napi::Value OfdOpen(const Napi::CallbackInfo& info) {
  std::string path = ArgString(info, 0);
  int flags = (ArgBool(info, 1) ? O_RDWR : O_RDONLY) | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY;
  int fd = open(path.c_str(), flags);
  if (fd < 0) ThrowErrno(info.Env(), "open", errno);
  Instance::Of(info).lock_fds.insert(fd);
  return Napi::Number::New(info.Env(), fd);
}

// ofd.close(fd): closes a descriptor from ofd.open, which drops its locks.
Napi::Value OfdClose(const Napi::CallbackInfo& info) {
  int fd = ArgFd(info, 0);
  if (Instance::Of(info).lock_fds.erase(fd) == 0) throw Napi::Error::New(info.Env(), "not an open descriptor from ofd.open");
  if (close(fd) != 0 && errno != EINTR) ThrowErrno(info.Env(), "close", errno);
  return info.Env().Undefined();
}

struct flock Range(const Napi::CallbackInfo& info, size_t first, short type) {
  struct flock fl {};
  fl.l_type = type;
  fl.l_whence = SEEK_SET;
  fl.l_start = static_cast<off_t>(ArgInt(info, first));
  fl.l_len = static_cast<off_t>(ArgInt(info, first + 1));
  if (fl.l_start < 0 || fl.l_len <= 0) throw Napi::RangeError::New(info.Env(), "lock range must be start >= 0, length > 0");
  return fl;
}

// Whether an exclusive lock (a participant's presence) lies on the range. Shared locks
// are not presences: a death watch (death_watch.cc) holds one for an instant.
bool ExclusiveHeld(int fd, struct flock fl) {
  fl.l_type = F_RDLCK;
  return fcntl(fd, F_OFD_GETLK, &fl) != 0 || fl.l_type != F_UNLCK;
}

// ofd.lock(fd, start, length, exclusive) -> true if taken, false if another open file
// description holds a conflicting lock. Never blocks for long: a conflict with shared
// locks only is a death watch letting go, and is tried again.
Napi::Value OfdLock(const Napi::CallbackInfo& info) {
  int fd = ArgFd(info, 0);
  struct flock fl = Range(info, 1, ArgBool(info, 3) ? F_WRLCK : F_RDLCK);
  for (int attempt = 0;; attempt++) {
    struct flock request = fl;
    if (fcntl(fd, F_OFD_SETLK, &request) == 0) return Napi::Boolean::New(info.Env(), true);
    if (errno != EAGAIN && errno != EACCES) ThrowErrno(info.Env(), "fcntl", errno);
    if (fl.l_type != F_WRLCK || attempt == 1000 || ExclusiveHeld(fd, fl)) return Napi::Boolean::New(info.Env(), false);
    sched_yield();
  }
}

// ofd.unlock(fd, start, length)
Napi::Value OfdUnlock(const Napi::CallbackInfo& info) {
  int fd = ArgFd(info, 0);
  struct flock fl = Range(info, 1, F_UNLCK);
  if (fcntl(fd, F_OFD_SETLK, &fl) != 0) ThrowErrno(info.Env(), "fcntl", errno);
  return info.Env().Undefined();
}

// ofd.conflict(fd, start, length) -> null, or { start, length, exclusive } of the first
// lock held through another open file description that an exclusive lock on the range
// would conflict with. Locks held through fd itself never conflict. Only exclusive ones
// are participants; shared ones (a death watch's for an instant, or any reader's) are
// reported too, so that a claim can step over a whole range of them.
Napi::Value OfdConflict(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = ArgFd(info, 0);
  struct flock fl = Range(info, 1, F_WRLCK);
  if (fcntl(fd, F_OFD_GETLK, &fl) != 0) ThrowErrno(env, "fcntl", errno);
  if (fl.l_type == F_UNLCK) return env.Null();
  Napi::Object result = Napi::Object::New(env);
  result.Set("start", Napi::Number::New(env, static_cast<double>(fl.l_start)));
  result.Set("length", Napi::Number::New(env, static_cast<double>(fl.l_len)));
  result.Set("exclusive", Napi::Boolean::New(env, fl.l_type == F_WRLCK));
  return result;
}

const Export kExports[] = {
    {"open", OfdOpen}, {"close", OfdClose}, {"lock", OfdLock}, {"unlock", OfdUnlock}, {"conflict", OfdConflict},
};

}  // namespace

const Group kOfd = MakeGroup("ofd", kExports);

}  // namespace podshm
