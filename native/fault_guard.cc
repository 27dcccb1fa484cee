// SIGBUS guard for mapped shared objects (see fault_guard.h).
#include "fault_guard.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include <atomic>
#include <mutex>

#include "kernel_abi.h"

namespace podshm {
namespace {

// Fixed table: the handler may only read memory that never moves or goes away.
GuardSlot slots[kGuardSlots];
uintptr_t page_size = 4096;
std::mutex install_mutex;
bool installed = false;
struct sigaction previous;
// Handlers between their start and their last use of a slot. A slot is freed only when
// none is (UnguardRange), so a handler never writes into a slot that another range has
// claimed meanwhile.
std::atomic<int> in_flight{0};

// Whether running the access at addr again would fault again. The kernel is asked to
// fault the page in as a write would (as a read, for a read-only mapping), which fails
// with EFAULT exactly where the access would get SIGBUS and leaves the contents as they
// are. Kernels before 5.14 know neither; there the page is read instead, which misses
// only a write that the filesystem refuses (a full tmpfs) on a mapping not podshm's.
bool FaultsAgain(uintptr_t addr) {
  void* page = reinterpret_cast<void*>(addr & ~(page_size - 1));
  int saved = errno;
  int status = madvise(page, page_size, MADV_POPULATE_WRITE);
  if (status != 0 && errno == EINVAL) status = madvise(page, page_size, MADV_POPULATE_READ);
  if (status != 0 && errno == EINVAL) {
    char byte;
    struct iovec local = {&byte, 1};
    struct iovec remote = {page, 1};
    status = process_vm_readv(getpid(), &local, 1, &remote, 1, 0) == 1 ? 0 : -1;
  }
  errno = saved;
  return status != 0;
}

void Chain(int sig, siginfo_t* info, void* context) {
  if (previous.sa_flags & SA_SIGINFO) {
    if (previous.sa_sigaction) previous.sa_sigaction(sig, info, context);
    return;
  }
  if (previous.sa_handler != SIG_DFL && previous.sa_handler != SIG_IGN) {
    previous.sa_handler(sig);
    return;
  }
  if (info->si_code <= 0) {
    // Sent by a process (kill): nothing to re-execute. Do what was set before podshm.
    if (previous.sa_handler == SIG_DFL) {
      signal(sig, SIG_DFL);
      raise(sig);  // delivered, fatally, once this handler returns
    }
    return;
  }
  // A fault outside every guarded range. It may still be ours: close() can replace a
  // range with zeros and release its slot after the kernel raised the signal but before
  // this handler's scan reached the slot (the faulting thread may even be preempted in
  // between), which happens to a few percent of the faults that race a close().
  // No state kept from earlier faults can tell that apart from a fault that is not
  // ours, since a later range can reuse the address; the page itself can: if it no
  // longer faults, run the access again. Otherwise restore the default, so the access,
  // re-executed, ends the process exactly as it would have without podshm.
  if (!FaultsAgain(reinterpret_cast<uintptr_t>(info->si_addr))) return;
  signal(sig, SIG_DFL);
}

// True if the fault was in a guarded range and the access can run again.
bool Replace(uintptr_t addr) {
  for (GuardSlot& slot : slots) {
    uintptr_t begin = slot.begin.load(std::memory_order_seq_cst);
    // 0: free slot; 1: being claimed, end not yet valid.
    if (begin <= 1 || addr < begin || addr >= slot.end.load(std::memory_order_acquire)) continue;
    // Everything from here to the end of the range lies past the object's new end:
    // replace it in one piece, so scattered touches cannot use up vm.max_map_count.
    // Only up to what an earlier fault replaced, so private writes there survive.
    uintptr_t page = addr & ~(page_size - 1);
    uintptr_t stop = slot.replaced_from.load(std::memory_order_acquire);
    if (page >= stop) return true;  // another thread replaced it meanwhile
    int saved = errno;
    // MAP_NORESERVE: zeros nobody writes to need no commit; without it, a large range
    // could fail with ENOMEM here and the process die after all.
    void* done = mmap(reinterpret_cast<void*>(page), stop - page, PROT_READ | PROT_WRITE,
                      MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    errno = saved;
    if (done == MAP_FAILED) return false;
    // Only downwards: a thread that faulted higher up may store after this one.
    uintptr_t from = stop;
    while (page < from && !slot.replaced_from.compare_exchange_weak(from, page, std::memory_order_acq_rel)) {
    }
    return true;
  }
  return false;
}

void OnSigbus(int sig, siginfo_t* info, void* context) {
  if (info->si_code == BUS_ADRERR) {
    in_flight.fetch_add(1, std::memory_order_seq_cst);
    bool handled = Replace(reinterpret_cast<uintptr_t>(info->si_addr));
    // Before any chained handler, which may never return.
    in_flight.fetch_sub(1, std::memory_order_seq_cst);
    if (handled) return;
  }
  Chain(sig, info, context);
}

void Install() {
  std::lock_guard<std::mutex> lock(install_mutex);
  if (installed) return;
  page_size = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_sigaction = OnSigbus;
  action.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigemptyset(&action.sa_mask);
  sigaction(SIGBUS, &action, &previous);
  installed = true;
}

}  // namespace

uint64_t GuardSlot::LostPages() const {
  uintptr_t e = end.load(std::memory_order_acquire);
  uintptr_t from = replaced_from.load(std::memory_order_acquire);
  return from < e ? (e - from + page_size - 1) / page_size : 0;
}

GuardSlot* GuardRange(void* base, size_t length) {
  Install();
  for (GuardSlot& slot : slots) {
    uintptr_t expected = 0;
    // Claim with a placeholder so no other thread takes the slot, then publish the range.
    if (slot.begin.compare_exchange_strong(expected, 1, std::memory_order_acq_rel)) {
      uintptr_t end = reinterpret_cast<uintptr_t>(base) + length;
      slot.replaced_from.store(end, std::memory_order_relaxed);
      slot.end.store(end, std::memory_order_release);
      slot.begin.store(reinterpret_cast<uintptr_t>(base), std::memory_order_release);
      return &slot;
    }
  }
  return nullptr;
}

void UnguardRange(GuardSlot* slot) {
  if (!slot) return;
  // begin first, then the wait: a handler counts itself in before it reads begin, so
  // (all sequentially consistent) either it sees 0 or this sees it and waits for it
  // to finish with the slot, before another range may claim it. Handlers run for
  // microseconds.
  slot->begin.store(0, std::memory_order_seq_cst);
  while (in_flight.load(std::memory_order_seq_cst) != 0) sched_yield();
  slot->end.store(0, std::memory_order_release);
}

}  // namespace podshm
