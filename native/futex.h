// The Linux futex on words of a mapping, shared between native/futex.cc (blocking
// waits on the caller's thread) and native/waiter.cc (the per-process waiter thread).
#pragma once
#include <napi.h>

#include <cstdint>
#include <ctime>

#include "mapping.h"

namespace podshm {

// The longest one blocking call on a Worker's thread sleeps (futex.wait, mq.send and
// mq.receive). Terminating a Worker (or process.exit() while one is blocked) cannot
// interrupt a system call, only JavaScript: so a longer wait returns early, and
// JavaScript gets to run before it waits on with the time left. Exported as
// futex.sliceMs: lib/wait/loop.ts's SLICE_MS is this number.
constexpr int64_t kSliceMs = 100;

// The 4-byte-aligned word at byteOffset of the mapping behind handle; throws a
// RangeError when it is misaligned or outside the mapping.
uint32_t* FutexWord(const Napi::Value& handle, int64_t byteOffset);

// The MappingRef behind a handle (the caller keeps the mapping alive with it).
MappingRef MappingRefOf(const Napi::Value& handle);

int64_t MonotonicNs();
timespec ToTimespec(int64_t ns);

// Wakes up to count waiters of a shared (cross-process) futex; returns how many woke.
int FutexWake(uint32_t* word, int count, bool shared = true);

// Rings every waiter thread of the process (native/waiter.cc): a mapping was closed.
void WakeWaiters();

}  // namespace podshm
