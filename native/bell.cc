// A channel's bell: a FIFO beside the segment that a producer writes one byte into to
// wake a consumer waiting on the event loop, which watches the FIFO's descriptor
// directly (fd_watch.cc). A futex wake would first wake the waiter thread, which then
// wakes the loop: two wake-ups in a row. Both sides open the FIFO read-write and
// non-blocking, so an open never waits for the other side and a write never fails
// for want of a reader.
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "addon.h"
#include "args.h"
#include "throw.h"

namespace podshm {
namespace {

// makeFifo(path, mode) -> fd, open read-write. The mode is applied exactly, past the
// umask, through the descriptor: a chmod by name could reach a file put there meanwhile.
// A FIFO left behind by a failure here is replaced by the next creator (lib/channel/bell.ts).
Napi::Value MakeFifo(const Napi::CallbackInfo& info) {
  std::string path = ArgString(info, 0);
  mode_t mode = static_cast<mode_t>(ArgInt(info, 1));
  if (mkfifo(path.c_str(), mode) != 0) ThrowErrno(info.Env(), "mkfifo", errno);
  int fd = open(path.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) ThrowErrno(info.Env(), "open", errno);
  struct stat st;
  const char* call = "fstat";
  int err = fstat(fd, &st) != 0 ? errno : 0;
  if (err == 0 && !S_ISFIFO(st.st_mode)) err = EEXIST;  // replaced between mkfifo and open
  if (err == 0 && fchmod(fd, mode) != 0) {
    call = "fchmod";
    err = errno;
  }
  if (err != 0) {
    close(fd);
    ThrowErrno(info.Env(), call, err);
  }
  return Napi::Number::New(info.Env(), fd);
}

// A full pipe (EAGAIN) has been rung already and not yet heard: nothing is lost.
Napi::Value Ring(const Napi::CallbackInfo& info) {
  static const char kByte = 1;
  if (write(ArgFd(info, 0), &kByte, 1) < 0 && errno != EAGAIN && errno != EINTR) ThrowErrno(info.Env(), "write", errno);
  return info.Env().Undefined();
}

// Empties the pipe, so that the next watch waits for a new ring.
Napi::Value Drain(const Napi::CallbackInfo& info) {
  int fd = ArgFd(info, 0);
  char buffer[64];
  ssize_t n;
  do n = read(fd, buffer, sizeof buffer);
  while (n == static_cast<ssize_t>(sizeof buffer) || (n < 0 && errno == EINTR));
  if (n < 0 && errno != EAGAIN) ThrowErrno(info.Env(), "read", errno);
  return info.Env().Undefined();
}

const Export kExports[] = {
    {"create", MakeFifo},
    {"ring", Ring},
    {"drain", Drain},
};

}  // namespace

const Group kBell = MakeGroup("bell", kExports);

}  // namespace podshm
