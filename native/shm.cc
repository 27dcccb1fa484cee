// POSIX shared memory objects as files in a tmpfs directory. glibc's shm_open is
// open("/dev/shm/" + name, O_NOFOLLOW | O_CLOEXEC); doing the same with paths lets
// one code path serve /dev/shm and any Memory emptyDir, and lets a creator size an
// unnamed file (O_TMPFILE) before publishing it, so no opener ever sees it half made.
// Opening one by name is fd.open (native/fd.cc), as for any file.
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "addon.h"
#include "args.h"
#include "throw.h"

namespace podshm {
namespace {

// shm.createUnnamed(dir, mode) -> fd of a file with no name yet, mode applied exactly
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

// shm.publish(fd, path): gives an unnamed file its name; EEXIST if the name is taken.
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

// shm.allocate(fd, size): sets the size and reserves every page now, so a full tmpfs is
// ENOSPC here instead of SIGBUS on first touch (docs/design.md, "Mapping memory").
Napi::Value Allocate(const Napi::CallbackInfo& info) {
  int fd = ArgFd(info, 0);
  int64_t size = ArgInt(info, 1);
  int err = posix_fallocate(fd, 0, static_cast<off_t>(size));
  if (err != 0) ThrowErrno(info.Env(), "posix_fallocate", err);
  return info.Env().Undefined();
}

Napi::Value Unlink(const Napi::CallbackInfo& info) {
  std::string path = ArgString(info, 0);
  if (unlink(path.c_str()) != 0) ThrowErrno(info.Env(), "unlink", errno);
  return info.Env().Undefined();
}

const Export kExports[] = {
    {"createUnnamed", CreateUnnamed},
    {"publish", Publish},
    {"allocate", Allocate},
    {"unlink", Unlink},
};

}  // namespace

const Group kShm = MakeGroup("shm", kExports);

}  // namespace podshm
