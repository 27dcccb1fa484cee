// Node 20's way to a SharedArrayBuffer over foreign memory (see v8_sab.cc). Only C types
// cross this boundary, so the two sides may be built against different C++ libraries.
#pragma once
#include <node_api.h>
#include <stddef.h>

namespace podshm {

napi_value NewV8SharedArrayBuffer(void* base, size_t length, void (*release)(void* data, size_t length, void* hint),
                                  void* hint);

}  // namespace podshm
