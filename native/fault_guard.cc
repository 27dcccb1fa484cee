// SIGBUS guard for mapped shared objects (see fault_guard.h).
#include "fault_guard.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <mutex>

namespace podshm {
namespace {

// Fixed table: the handler may only read memory that never moves or goes away.
GuardSlot slots[kGuardSlots];
uintptr_t page_size = 4096;
std::mutex install_mutex;
bool installed = false;
struct sigaction previous;

void Chain(int sig, siginfo_t* info, void* context) {
  if (previous.sa_flags & SA_SIGINFO) {
    if (previous.sa_sigaction) previous.sa_sigaction(sig, info, context);
    return;
  }
  if (previous.sa_handler == SIG_DFL || previous.sa_handler == SIG_IGN) {
    // Not ours: restore the default so the faulting access, re-executed, ends the
    // process exactly as it would have without podshm.
    signal(sig, SIG_DFL);
    return;
  }
  previous.sa_handler(sig);
}

void OnSigbus(int sig, siginfo_t* info, void* context) {
  uintptr_t addr = reinterpret_cast<uintptr_t>(info->si_addr);
  if (info->si_code == BUS_ADRERR) {
    for (GuardSlot& slot : slots) {
      uintptr_t begin = slot.begin.load(std::memory_order_acquire);
      // 0: free slot; 1: being claimed, end not yet valid.
      if (begin <= 1 || addr < begin || addr >= slot.end.load(std::memory_order_acquire)) continue;
      // Everything from here to the end of the range lies past the object's new end:
      // replace it in one piece, so scattered touches cannot use up vm.max_map_count.
      // Only up to what an earlier fault replaced, so private writes there survive.
      uintptr_t page = addr & ~(page_size - 1);
      uintptr_t stop = slot.replaced_from.load(std::memory_order_acquire);
      if (page >= stop) return;  // another thread replaced it meanwhile: retry the access
      int saved = errno;
      void* done = mmap(reinterpret_cast<void*>(page), stop - page, PROT_READ | PROT_WRITE,
                        MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      errno = saved;
      if (done == MAP_FAILED) break;
      slot.replaced_from.store(page, std::memory_order_release);
      return;
    }
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
  slot->end.store(0, std::memory_order_release);
  slot->begin.store(0, std::memory_order_release);
}

}  // namespace podshm
