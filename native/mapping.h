#pragma once
#include <napi.h>

#include <atomic>
#include <cstddef>
#include <memory>

#include "fault_guard.h"

namespace podshm {

// One mapped range shared by its JavaScript handle and every SharedArrayBuffer
// built over it. The range is unmapped only when both are gone, so a handle can
// never name an address that has been reused (DESIGN.md 2.3).
struct Mapping {
  void* base;
  size_t length;
  std::atomic<bool> detached{false};
  GuardSlot* guard;

  Mapping(void* base, size_t length) : base(base), length(length), guard(GuardRange(base, length)) {}
  ~Mapping();

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
