#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>

namespace podshm {

// A mapped range that must never kill the process with SIGBUS. A peer can shrink a
// POSIX shm object (ftruncate) under our mapping; touching a page past the new end is
// then SIGBUS. The guard's handler replaces such a page with a private zero page and
// lets the access go on, counting it so lib/ can report the damage.
struct GuardSlot {
  std::atomic<uintptr_t> begin{0};
  std::atomic<uintptr_t> end{0};
  // Where the replaced tail starts (end when nothing was lost): every fault past the
  // object's end replaces from its page up to here.
  std::atomic<uintptr_t> replaced_from{0};

  uint64_t LostPages() const;
};

// How many ranges can be guarded at once, process-wide.
constexpr size_t kGuardSlots = 4096;

// Registers [base, base + length); returns the slot, or nullptr if the table is full
// (the range is then unguarded, as any mapping outside podshm is).
GuardSlot* GuardRange(void* base, size_t length);
void UnguardRange(GuardSlot* slot);

}  // namespace podshm
