// POSIX shared memory objects as files in a tmpfs directory. glibc's shm_open is
// open("/dev/shm/" + name, O_NOFOLLOW | O_CLOEXEC); doing the same with paths lets
// one code path serve /dev/shm and any Memory emptyDir, and lets a creator size an
// unnamed file (O_TMPFILE) before publishing it, so no opener ever sees it half made.
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "args.h"
#include "registry.h"
#include "throw.h"

namespace podshm {
namespace {

// openObject(path, flags, mode) -> fd. O_NONBLOCK keeps a FIFO planted under the
// name from blocking the caller and O_NOCTTY a terminal from becoming ours; lib/ then
// refuses anything but a regular file.
Napi::Value OpenObject(const Napi::CallbackInfo& info) {
  std::string path = ArgString(info, 0);
  int flags = static_cast<int>(ArgInt(info, 1));
  mode_t mode = static_cast<mode_t>(ArgInt(info, 2));
  int fd = open(path.c_str(), flags | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY, mode);
  if (fd < 0) ThrowErrno(info.Env(), "open", errno);
  return Napi::Number::New(info.Env(), fd);
}

// createUnnamed(dir, mode) -> fd of a file with no name yet, mode applied exactly
// (not filtered by the umask, as the caller asked for this mode).
Napi::Value CreateUnnamed(const Napi::CallbackInfo& info) {
  std::string dir = ArgString(info, 0);
  mode_t mode = static_cast<mode_t>(ArgInt(info, 1));
  int fd = open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, mode);
  if (fd < 0) ThrowErrno(info.Env(), "open", errno);
  if (fchmod(fd, mode) != 0) {
    int err = errno;
    close(fd);
    ThrowErrno(info.Env(), "fchmod", err);
  }
  return Napi::Number::New(info.Env(), fd);
}

// publish(fd, path): gives an unnamed file its name; EEXIST if the name is taken.
Napi::Value Publish(const Napi::CallbackInfo& info) {
  int fd = ArgFd(info, 0);
  std::string path = ArgString(info, 1);
  char proc[64];
  snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
  if (linkat(AT_FDCWD, proc, AT_FDCWD, path.c_str(), AT_SYMLINK_FOLLOW) != 0) {
    ThrowErrno(info.Env(), "linkat", errno);
  }
  return info.Env().Undefined();
}

Napi::Value SetMode(const Napi::CallbackInfo& info) {
  if (fchmod(ArgFd(info, 0), static_cast<mode_t>(ArgInt(info, 1))) != 0) {
    ThrowErrno(info.Env(), "fchmod", errno);
  }
  return info.Env().Undefined();
}

// allocate(fd, size): sets the size and reserves every page now, so a full tmpfs is
// ENOSPC here instead of SIGBUS on first touch (docs/design.md, "Mapping memory").
Napi::Value Allocate(const Napi::CallbackInfo& info) {
  int fd = ArgFd(info, 0);
  int64_t size = ArgInt(info, 1);
  int err = posix_fallocate(fd, 0, static_cast<off_t>(size));
  if (err != 0) ThrowErrno(info.Env(), "posix_fallocate", err);
  return info.Env().Undefined();
}

Napi::Value Fstat(const Napi::CallbackInfo& info) {
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

// tryFlock(fd) -> true if this open file description now holds an exclusive flock on
// it, false if another holds one. Never blocks; closing the descriptor drops it. Works
// on directories (a cgroup's), which fcntl locks cannot lock exclusively.
Napi::Value TryFlock(const Napi::CallbackInfo& info) {
  if (flock(ArgFd(info, 0), LOCK_EX | LOCK_NB) == 0) return Napi::Boolean::New(info.Env(), true);
  if (errno == EWOULDBLOCK || errno == EINTR) return Napi::Boolean::New(info.Env(), false);
  ThrowErrno(info.Env(), "flock", errno);
}

Napi::Value CloseFd(const Napi::CallbackInfo& info) {
  if (close(ArgFd(info, 0)) != 0 && errno != EINTR) {
    ThrowErrno(info.Env(), "close", errno);
  }
  return info.Env().Undefined();
}

Napi::Value UnlinkObject(const Napi::CallbackInfo& info) {
  std::string path = ArgString(info, 0);
  if (unlink(path.c_str()) != 0) ThrowErrno(info.Env(), "unlink", errno);
  return info.Env().Undefined();
}

void Init(Napi::Env env, Napi::Object exports) {
  exports.Set("openObject", Napi::Function::New(env, OpenObject, "openObject"));
  exports.Set("createUnnamed", Napi::Function::New(env, CreateUnnamed, "createUnnamed"));
  exports.Set("publish", Napi::Function::New(env, Publish, "publish"));
  exports.Set("setMode", Napi::Function::New(env, SetMode, "setMode"));
  exports.Set("allocate", Napi::Function::New(env, Allocate, "allocate"));
  exports.Set("fstat", Napi::Function::New(env, Fstat, "fstat"));
  exports.Set("tryFlock", Napi::Function::New(env, TryFlock, "tryFlock"));
  exports.Set("closeFd", Napi::Function::New(env, CloseFd, "closeFd"));
  exports.Set("unlinkObject", Napi::Function::New(env, UnlinkObject, "unlinkObject"));
}

}  // namespace

PODSHM_REGISTER(posix_shm, Init);

}  // namespace podshm
