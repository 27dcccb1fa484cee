// V8's C++ API passes std::shared_ptr and std::unique_ptr, whose layout is that of the C++
// library Node.js is built with (libstdc++). This file is kept apart from the rest of the
// addon so the prebuilds can compile it against libstdc++'s headers and everything else
// against their static libc++ (scripts/prebuildify.js).
#include "v8_sab.h"

#include <v8.h>

namespace podshm {

napi_value NewV8SharedArrayBuffer(void* base, size_t length, void (*release)(void*, size_t, void*), void* hint) {
  v8::Isolate* isolate = v8::Isolate::GetCurrent();
  std::unique_ptr<v8::BackingStore> store = v8::SharedArrayBuffer::NewBackingStore(base, length, release, hint);
  v8::Local<v8::SharedArrayBuffer> sab = v8::SharedArrayBuffer::New(isolate, std::move(store));
  // napi_value is a Local<Value> by Node's own definition.
  v8::Local<v8::Value> value = sab;
  return reinterpret_cast<napi_value>(*value);
}

}  // namespace podshm
