#pragma once
#include <napi.h>

#include <atomic>
#include <cstddef>
#include <memory>

#include "fault_guard.h"

namespace podshm {

// One mapped range shared by its JavaScript handle and every SharedArrayBuffer
// built over it. The range is unmapped only when both are gone, so a handle can
// never name an address that has been reused (docs/design.md, "Mapping memory").
struct Mapping {
  void* base;
  size_t length;
  std::atomic<bool> detached{false};
  // Held while the range is mapped to the shared object; null once detached (private
  // anonymous memory cannot fault), or if the process-wide table was full.
  std::atomic<GuardSlot*> guard;
  // Pages lost to a peer's shrinking before the guard was let go.
  std::atomic<uint64_t> lost_pages{0};

  Mapping(void* base, size_t length) : base(base), length(length), guard(GuardRange(base, length)) {}
  ~Mapping();

  // Gives the guard slot back (once), keeping its count of lost pages.
  void Unguard();
  uint64_t LostPages() const;

  // Address of [offset, offset + size) inside the range, or nullptr if outside.
  void* At(int64_t offset, size_t size) const;
};

using MappingRef = std::shared_ptr<Mapping>;

// { handle, buffer }: an External owning one reference and a SharedArrayBuffer
// owning another.
Napi::Object ExposeMapping(Napi::Env env, MappingRef mapping);

// The Mapping behind a handle from ExposeMapping; throws a TypeError otherwise.
Mapping& UnwrapMapping(const Napi::Value& handle);

}  // namespace podshm
