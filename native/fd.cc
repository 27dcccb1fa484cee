// Descriptors of any file: opening one by path, and what is done through it whatever
// it names (a shared memory object, a bell's FIFO, a message queue, a cgroup directory).
#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "addon.h"
#include "args.h"
#include "throw.h"

namespace podshm {
namespace {

// fd.open(path, flags, mode) -> fd. O_NONBLOCK keeps a FIFO planted under the name
// from blocking the caller and O_NOCTTY a terminal from becoming ours; lib/ then refuses
// anything but the kind of file it expects.
Napi::Value Open(const Napi::CallbackInfo& info) {
  std::string path = ArgString(info, 0);
  int flags = static_cast<int>(ArgInt(info, 1));
  mode_t mode = static_cast<mode_t>(ArgInt(info, 2));
  int fd = open(path.c_str(), flags | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY, mode);
  if (fd < 0) ThrowErrno(info.Env(), "open", errno);
  return Napi::Number::New(info.Env(), fd);
}

Napi::Value Close(const Napi::CallbackInfo& info) {
  if (close(ArgFd(info, 0)) != 0 && errno != EINTR) {
    ThrowErrno(info.Env(), "close", errno);
  }
  return info.Env().Undefined();
}

Napi::Value Stat(const Napi::CallbackInfo& info) {
  struct stat st;
  if (fstat(ArgFd(info, 0), &st) != 0) ThrowErrno(info.Env(), "fstat", errno);
  Napi::Env env = info.Env();
  Napi::Object result = Napi::Object::New(env);
  result.Set("size", Napi::Number::New(env, static_cast<double>(st.st_size)));
  // Bytes of storage the file holds: on a tmpfs, fewer than size means holes.
  result.Set("allocated", Napi::Number::New(env, static_cast<double>(st.st_blocks) * 512));
  result.Set("mode", Napi::Number::New(env, st.st_mode));
  result.Set("uid", Napi::Number::New(env, st.st_uid));
  result.Set("gid", Napi::Number::New(env, st.st_gid));
  result.Set("isFile", Napi::Boolean::New(env, S_ISREG(st.st_mode)));
  // Which file: "dev:ino" (a string, as an inode may not fit a double exactly).
  result.Set("fileId", Napi::String::New(env, std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino)));
  return result;
}

// fd.setMode(fd, mode): exactly this mode, where creating the file filtered it through
// the umask (mq_open does). Through the descriptor: a chmod by name could reach a file
// put there meanwhile.
Napi::Value SetMode(const Napi::CallbackInfo& info) {
  if (fchmod(ArgFd(info, 0), static_cast<mode_t>(ArgInt(info, 1))) != 0) {
    ThrowErrno(info.Env(), "fchmod", errno);
  }
  return info.Env().Undefined();
}

// fd.tryFlock(fd) -> true if this open file description now holds an exclusive flock
// on it, false if another holds one. Never blocks; closing the descriptor drops it.
// Works on directories (a cgroup's), which fcntl locks cannot lock exclusively.
Napi::Value TryFlock(const Napi::CallbackInfo& info) {
  if (flock(ArgFd(info, 0), LOCK_EX | LOCK_NB) == 0) return Napi::Boolean::New(info.Env(), true);
  if (errno == EWOULDBLOCK || errno == EINTR) return Napi::Boolean::New(info.Env(), false);
  ThrowErrno(info.Env(), "flock", errno);
}

const Export kExports[] = {
    {"open", Open}, {"close", Close}, {"stat", Stat}, {"setMode", SetMode}, {"tryFlock", TryFlock},
};

}  // namespace

const Group kFd = MakeGroup("fd", kExports);

}  // namespace podshm
