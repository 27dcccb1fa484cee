// Asynchronous futex waits (docs/design.md, "Waiting"): one dedicated thread per Node environment
// (the main thread's, or a Worker's) waits on every pending word at once with
// futex_waitv and reports through a thread-safe function, so any number of pending
// waits costs one thread and never a libuv thread-pool slot.
//
// The thread's set holds a private "doorbell" word first: adding, cancelling or
// stopping rings it, which ends the current futex_waitv so the set is rebuilt. Waits
// on the same word with the same expected value share one entry, so a thousand
// waiters on one semaphore are one entry. Beyond FUTEX_WAITV_MAX - 1 distinct words
// the rest go to helper threads, FUTEX_WAITV_MAX - 1 each, started as needed and kept:
// a helper waits on its share and a private word of its own, which the thread rings
// when it hands out new shares; a wake on a share is handed back, and the thread rings
// itself. Only when a helper cannot be started (a pids limit) are the words left over
// polled every kPollNs (their value compared with what they expect), which is slower
// but never loses a change of value.
//
// A word whose wait has just ended stays watched ("lingers") at its new value: a caller
// that waits on it again (a channel's producer between full rings, a semaphore's next
// acquire) then finds it watched, and the thread need not be woken to rebuild its set.
// Each such rebuild cost a wake-up and a context switch per wait. A lingering word has
// no time limit (a timer would wake an idle thread): it goes when its value moves on,
// when a wake reaches it, when its mapping is closed, or when real waits need the room.
//
// The thread wakes for events only: a wake on a word, the doorbell (a wait added or
// cancelled, a mapping closed anywhere in the process), a deadline a wait asked for.
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <system_error>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "addon.h"
#include "args.h"
#include "futex.h"
#include "kernel_abi.h"
#include "throw.h"

namespace podshm {
namespace {

constexpr int64_t kPollNs = 2000000;
constexpr int64_t kForeverMs = INT64_MAX / 2000000;

// kError: futex_waitv itself failed (ENOSYS before Linux 5.16); every pending wait ends.
enum class Result { kOk, kTimeout, kClosed, kError };

const char* ResultName(Result r) {
  switch (r) {
    case Result::kOk: return "ok";
    case Result::kTimeout: return "timeout";
    case Result::kClosed: return "closed";
    case Result::kError: return "error";
  }
  return "ok";
}

struct Wait {
  MappingRef mapping;  // keeps the words mapped while the wait is pending
  uint32_t* word;
  uint32_t expected;
  int64_t deadline;  // CLOCK_MONOTONIC ns, or -1
};

struct LingeringWord {
  MappingRef mapping;
};

using Key = std::pair<uint32_t*, uint32_t>;

// A helper thread's share of the words (docs at the top).
struct Share {
  std::vector<Key> keys;
  std::vector<MappingRef> hold;  // keeps the words mapped while the helper waits
};

// Every waiter thread of the process, for WakeWaiters.
std::mutex all_mu;
std::set<Waiter*> all;

}  // namespace

class Waiter {
 public:
  // The environment's waiter, started on first use.
  static Waiter& Of(const Napi::CallbackInfo& info) {
    Instance& instance = Instance::Of(info);
    if (instance.waiter == nullptr) {
      auto* w = new Waiter(info.Env(), instance);
      w->Start();
      instance.waiter = w;
      std::lock_guard<std::mutex> lock(all_mu);
      all.insert(w);
    }
    return *instance.waiter;
  }

  Waiter(napi_env env, Instance& instance) : env_(env), instance_(instance) {}

  // JS thread. On failure this object is freed (now, or by the thread-safe function's
  // finalizer) and a JavaScript error is thrown, so nothing is left pointing at it.
  void Start() {
    napi_env env = env_;
    napi_value name;
    napi_create_string_utf8(env, "podshm-waiter", NAPI_AUTO_LENGTH, &name);
    napi_status s = napi_create_threadsafe_function(env, nullptr, nullptr, name, 0, 1, this, Finalize, this, CallJs, &tsfn_);
    if (s != napi_ok) {
      delete this;
      throw Napi::Error::New(env, "napi_create_threadsafe_function failed");
    }
    napi_unref_threadsafe_function(env, tsfn_);
    // Registered after the thread-safe function, so it runs before Node closes it.
    napi_add_env_cleanup_hook(env, Cleanup, this);
    try {
      thread_ = std::thread([this] { Run(); });
    } catch (const std::system_error& e) {
      // A pids cgroup or RLIMIT_NPROC at its limit: common in pods.
      napi_remove_env_cleanup_hook(env, Cleanup, this);
      napi_release_threadsafe_function(tsfn_, napi_tsfn_abort);
      throw Napi::Error::New(env, std::string("cannot start the podshm waiter thread: ") + e.what());
    }
  }

  // JS thread.
  uint64_t Add(Wait wait, Napi::Function callback) {
    uint64_t id = ++next_id_;
    callbacks_.emplace(id, Napi::Persistent(callback));
    if (callbacks_.size() == 1) napi_ref_threadsafe_function(env_, tsfn_);
    bool ring;
    {
      std::lock_guard<std::mutex> lock(mu_);
      // The thread need not rebuild its set for a word it already watches, unless the
      // new wait ends before the thread would wake anyway.
      ring = watched_.count({wait.word, wait.expected}) == 0 ||
             (wait.deadline >= 0 && (wake_at_ < 0 || wait.deadline < wake_at_));
      pending_.emplace(id, std::move(wait));
    }
    if (ring) Ring();
    return id;
  }

  // JS thread. The callback of a cancelled wait is never called.
  bool Cancel(uint64_t id) {
    auto it = callbacks_.find(id);
    if (it == callbacks_.end()) return false;
    callbacks_.erase(it);
    if (callbacks_.empty()) napi_unref_threadsafe_function(env_, tsfn_);
    bool was_pending;
    {
      std::lock_guard<std::mutex> lock(mu_);
      was_pending = pending_.erase(id) > 0;
    }
    if (was_pending) Ring();
    return true;
  }

  size_t Pending() const { return callbacks_.size(); }
  uint64_t Loops() const { return loops_.load(); }

  void Ring() {
    bell_.fetch_add(1);
    FutexWake(reinterpret_cast<uint32_t*>(&bell_), 1, false);
  }

  // Helper passes count too: none may happen while nothing does.
  void CountPass() { loops_.fetch_add(1, std::memory_order_relaxed); }

 private:
  // Waiter thread: whole loop. mu_ is held except inside futex_waitv.
  void Run() {
    // Named so that it can be told apart (top -H, /proc/<pid>/task/*/comm).
    pthread_setname_np(pthread_self(), "podshm-waiter");
    std::unique_lock<std::mutex> lock(mu_);
    std::vector<futex_waitv> set;
    std::vector<Key> keys;  // set[i + 1] is keys[i]
    std::vector<MappingRef> hold;
    while (!stop_) {
      CountPass();
      // Wakes the helpers took since the last pass.
      for (auto& [key, mapping] : woken_) TakeWake(key);
      woken_.clear();
      int64_t now = MonotonicNs();
      int64_t wake_at = -1;
      auto earlier = [&](int64_t t) { wake_at = wake_at < 0 ? t : std::min(wake_at, t); };
      // Finish what is due or changed, and gather the distinct (word, expected) pairs.
      std::map<Key, MappingRef> distinct;
      for (auto it = pending_.begin(); it != pending_.end();) {
        Wait& w = it->second;
        Result r;
        bool finished = true;
        if (w.mapping->detached.load()) {
          r = Result::kClosed;
        } else if (__atomic_load_n(w.word, __ATOMIC_SEQ_CST) != w.expected) {
          r = Result::kOk;
        } else if (w.deadline >= 0 && w.deadline <= now) {
          r = Result::kTimeout;
        } else {
          finished = false;
        }
        if (finished) {
          if (r == Result::kOk) Linger(w);
          done_.emplace_back(it->first, r);
          it = pending_.erase(it);
          continue;
        }
        if (w.deadline >= 0) earlier(w.deadline);
        distinct.emplace(std::make_pair(w.word, w.expected), w.mapping);
        ++it;
      }
      Deliver();
      uint32_t bell = bell_.load();
      set.clear();
      keys.clear();
      hold.clear();
      set.push_back(Entry(reinterpret_cast<uint32_t*>(&bell_), bell, true));
      std::vector<Share> shares;
      for (auto& [key, mapping] : distinct) {
        if (set.size() < FUTEX_WAITV_MAX) {
          set.push_back(Entry(key.first, key.second, false));
          keys.push_back(key);
          continue;
        }
        if (shares.empty() || shares.back().keys.size() == FUTEX_WAITV_MAX - 1) shares.emplace_back();
        shares.back().keys.push_back(key);
        shares.back().hold.push_back(mapping);
      }
      if (!HandOut(std::move(shares))) earlier(now + kPollNs);
      for (auto& [id, w] : pending_) hold.push_back(w.mapping);
      watched_.clear();
      for (auto& [key, unused] : distinct) watched_.insert(key);
      // Lingering words take what room the set has left; one is dropped when its
      // mapping is closed or its value has moved on (no wait would name that value
      // now). Only those in the set count as watched.
      for (auto it = lingering_.begin(); it != lingering_.end();) {
        const auto& [key, l] = *it;
        if (l.mapping->detached.load() || __atomic_load_n(key.first, __ATOMIC_SEQ_CST) != key.second) {
          it = lingering_.erase(it);
          continue;
        }
        if (set.size() < FUTEX_WAITV_MAX && watched_.insert(key).second) {
          set.push_back(Entry(key.first, key.second, false));
          keys.push_back(key);
        }
        ++it;
      }
      wake_at_ = wake_at;
      bool idle = set.size() == 1;

      lock.unlock();
      timespec ts;
      if (wake_at >= 0) ts = ToTimespec(wake_at);
      // Idle: only the doorbell, with the plain futex (works on any kernel).
      long r = idle ? syscall(SYS_futex, &bell_, FUTEX_WAIT_PRIVATE, bell, nullptr, nullptr, 0)
                    : syscall(SYS_futex_waitv, set.data(), set.size(), 0, wake_at >= 0 ? &ts : nullptr, CLOCK_MONOTONIC);
      int err = r < 0 ? errno : 0;
      lock.lock();

      // EFAULT: a peer shrank an object under a watched word between the value check and
      // the wait; the next pass reads it (the fault guard gives such pages zeros) and
      // settles the waits on it like any change of value. Only the rest (ENOSYS before
      // Linux 5.16) ends every wait.
      if (r < 0 && err != EAGAIN && err != ETIMEDOUT && err != EINTR && err != EFAULT) {
        for (auto& [id, w] : pending_) done_.emplace_back(id, Result::kError);
        pending_.clear();
        lingering_.clear();
        continue;
      }

      // Other entries are settled by comparing values on the next pass.
      if (r >= 1 && static_cast<size_t>(r) <= keys.size()) TakeWake(keys[r - 1]);
      hold.clear();
    }
  }

  // Waiter thread, mu_ held: a wake on `key`, whose mapping the caller keeps. Every wait
  // on it is done even if the word is back at its expected value (the waker changed it
  // and back; the caller re-checks).
  void TakeWake(const Key& key) {
    bool taken = false;
    for (auto it = pending_.begin(); it != pending_.end();) {
      if (it->second.word == key.first && it->second.expected == key.second) {
        Linger(it->second);
        done_.emplace_back(it->first, Result::kOk);
        it = pending_.erase(it);
        taken = true;
      } else {
        ++it;
      }
    }
    // Only a lingering entry (or a helper's share that had just changed) took this
    // wake. A waker counts the sleepers it wakes (a mutex's unlock wakes one), so the
    // wake was meant for a sleeper elsewhere, queued behind the entry: pass it on, and
    // linger there no more.
    if (!taken) {
      FutexWake(key.first, 1);
      // After the wake: the entry may hold the last reference to the mapping.
      lingering_.erase(key);
    }
  }

  // Waiter thread, mu_ held: hands the words beyond its own set to the helpers (the
  // same shares again after every pass, so that they drop what has settled); false if
  // some are left to poll because a helper could not be started.
  bool HandOut(std::vector<Share> shares) {
    if (shares.empty() && shares_.empty()) return true;
    bool all = true;
    while (helpers_.size() < shares.size()) {
      try {
        size_t index = helpers_.size();
        helpers_.emplace_back([this, index] { Help(index); });
      } catch (const std::system_error&) {
        all = false;
        break;
      }
    }
    shares.resize(std::min(shares.size(), helpers_.size()));
    shares_ = std::move(shares);
    ++generation_;
    helper_bell_.fetch_add(1);
    FutexWake(reinterpret_cast<uint32_t*>(&helper_bell_), INT32_MAX, false);
    helpers_cv_.notify_all();
    return all;
  }

  // Helper thread `index`: waits on its share until a wake, a change of value or a new
  // generation of shares; what it took goes back to the waiter thread.
  void Help(size_t index) {
    pthread_setname_np(pthread_self(), "podshm-waiter");
    std::unique_lock<std::mutex> lock(mu_);
    uint64_t seen = 0;
    std::vector<futex_waitv> set;
    while (true) {
      helpers_cv_.wait(lock, [&] { return stop_ || generation_ != seen; });
      if (stop_) return;
      seen = generation_;
      if (index >= shares_.size()) continue;
      CountPass();
      const Share share = shares_[index];
      set.clear();
      set.push_back(Entry(reinterpret_cast<uint32_t*>(&helper_bell_), helper_bell_.load(), true));
      for (const Key& key : share.keys) set.push_back(Entry(key.first, key.second, false));
      lock.unlock();
      long r = syscall(SYS_futex_waitv, set.data(), set.size(), 0, nullptr, CLOCK_MONOTONIC);
      lock.lock();
      // Not its own bell: a word woke, or had already changed (or an error the waiter
      // thread's own wait meets too) before a new generation: the waiter thread's next
      // pass settles it and hands out new shares.
      if (r >= 1) woken_.emplace_back(share.keys[r - 1], share.hold[r - 1]);
      if (r >= 1 || (r < 0 && generation_ == seen)) Ring();
    }
  }

  // Waiter thread, mu_ held: keeps watching the word of a wait that has just ended, at
  // the value it holds now.
  void Linger(const Wait& w) {
    uint32_t value = __atomic_load_n(w.word, __ATOMIC_SEQ_CST);
    lingering_.insert_or_assign(std::make_pair(w.word, value), LingeringWord{w.mapping});
  }

  static futex_waitv Entry(uint32_t* word, uint32_t expected, bool is_private) {
    futex_waitv e{};
    e.val = expected;
    e.uaddr = reinterpret_cast<uintptr_t>(word);
    e.flags = FUTEX_32 | (is_private ? FUTEX_PRIVATE_FLAG : 0);
    return e;
  }

  // Waiter thread, mu_ held: hands finished waits to the JS thread (one call per batch).
  void Deliver() {
    if (done_.empty() || scheduled_) return;
    scheduled_ = true;
    napi_call_threadsafe_function(tsfn_, nullptr, napi_tsfn_nonblocking);
  }

  // JS thread. Nothing may leave as a C++ exception: this is called from C.
  static void CallJs(napi_env env, napi_value, void* context, void*) {
    if (env == nullptr) return;
    try {
      static_cast<Waiter*>(context)->RunCallbacks(Napi::Env(env));
    } catch (const Napi::Error&) {
      // Making a value failed: the environment is being torn down (a Worker's
      // terminate()), and nobody is left to tell.
    }
  }

  void RunCallbacks(Napi::Env env) {
    std::vector<std::pair<uint64_t, Result>> done;
    {
      std::lock_guard<std::mutex> lock(mu_);
      done.swap(done_);
      scheduled_ = false;
    }
    Napi::HandleScope scope(env);
    for (auto& [id, result] : done) {
      auto it = callbacks_.find(id);
      if (it == callbacks_.end()) continue;  // cancelled
      Napi::FunctionReference callback = std::move(it->second);
      callbacks_.erase(it);
      if (callbacks_.empty()) napi_unref_threadsafe_function(env, tsfn_);
      // The C API: a call that fails because the environment is going away (a Worker's
      // terminate()) fails without an exception, and the rest are skipped as well.
      napi_value arg = Napi::String::New(env, ResultName(result));
      napi_status s = napi_call_function(env, env.Undefined(), callback.Value(), 1, &arg, nullptr);
      if (s == napi_pending_exception) ReportUncaught(env);
    }
  }

  // Environment teardown: stop and join the thread while the thread-safe function is
  // still open; Node then closes it and Finalize frees this object.
  static void Cleanup(void* arg) {
    auto* self = static_cast<Waiter*>(arg);
    {
      std::lock_guard<std::mutex> lock(self->mu_);
      self->stop_ = true;
      self->helper_bell_.fetch_add(1);
      self->helpers_cv_.notify_all();
    }
    FutexWake(reinterpret_cast<uint32_t*>(&self->helper_bell_), INT32_MAX, false);
    self->Ring();
    self->thread_.join();
    for (std::thread& helper : self->helpers_) helper.join();
    self->callbacks_.clear();
    self->instance_.waiter = nullptr;
    std::lock_guard<std::mutex> lock(all_mu);
    all.erase(self);
  }

  static void Finalize(napi_env, void* data, void*) { delete static_cast<Waiter*>(data); }

 private:
  napi_env env_;
  Instance& instance_;
  napi_threadsafe_function tsfn_ = nullptr;
  std::thread thread_;
  std::atomic<uint32_t> bell_{0};
  // Passes of the thread's loop, for tests: it must not move while nothing happens.
  std::atomic<uint64_t> loops_{0};
  // JS thread only.
  std::unordered_map<uint64_t, Napi::FunctionReference> callbacks_;
  uint64_t next_id_ = 0;
  // Guarded by mu_.
  std::mutex mu_;
  std::map<uint64_t, Wait> pending_;
  std::map<Key, LingeringWord> lingering_;
  // What the thread's current futex_waitv covers (set, shares or polled), and when it ends.
  std::set<Key> watched_;
  // The helpers (docs at the top): their shares, a generation counter bumped with each
  // handing out, the word that ends their waits, and the wakes they took.
  std::vector<std::thread> helpers_;
  std::vector<Share> shares_;
  uint64_t generation_ = 0;
  std::condition_variable helpers_cv_;
  std::atomic<uint32_t> helper_bell_{0};
  std::vector<std::pair<Key, MappingRef>> woken_;
  int64_t wake_at_ = -1;
  std::vector<std::pair<uint64_t, Result>> done_;
  bool scheduled_ = false;
  bool stop_ = false;
};

static_assert(sizeof(std::atomic<uint32_t>) == 4, "the doorbell is a futex word");

// A mapping was closed: every waiter thread of the process settles the waits on it
// ('closed') and drops its lingering words (instead of looking every second).
void WakeWaiters() {
  std::lock_guard<std::mutex> lock(all_mu);
  for (Waiter* w : all) w->Ring();
}

namespace {

// waiter.wait(handle, byteOffset, expected, timeoutMs, callback) -> id. The callback
// gets 'ok' (woken, or the word no longer holds expected: re-check it), 'timeout', or
// 'closed' (this process closed the mapping). timeoutMs < 0 waits without limit.
Napi::Value WaitAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t* word = FutexWord(info[0], ArgInt(info, 1));
  uint32_t expected = static_cast<uint32_t>(ArgInt(info, 2));
  int64_t timeoutMs = ArgTimeoutMs(info, 3);
  if (info.Length() < 5 || !info[4].IsFunction()) throw Napi::TypeError::New(env, "argument 4 must be a function");
  int64_t deadline = timeoutMs >= 0 && timeoutMs < kForeverMs ? MonotonicNs() + timeoutMs * 1000000 : -1;
  uint64_t id = Waiter::Of(info).Add(Wait{MappingRefOf(info[0]), word, expected, deadline}, info[4].As<Napi::Function>());
  return Napi::Number::New(env, static_cast<double>(id));
}

// waiter.cancel(id) -> true if the wait was still pending; its callback will not be called.
Napi::Value CancelWait(const Napi::CallbackInfo& info) {
  Waiter* w = Instance::Of(info).waiter;
  return Napi::Boolean::New(info.Env(), w != nullptr && w->Cancel(static_cast<uint64_t>(ArgInt(info, 0))));
}

// waiter.pending() -> number of waits whose callback is still to come (for tests).
Napi::Value PendingWaits(const Napi::CallbackInfo& info) {
  Waiter* w = Instance::Of(info).waiter;
  return Napi::Number::New(info.Env(), w == nullptr ? 0 : static_cast<double>(w->Pending()));
}

// waiter.loops() -> passes of this environment's waiter thread loop so far (for tests).
Napi::Value WaiterLoops(const Napi::CallbackInfo& info) {
  Waiter* w = Instance::Of(info).waiter;
  return Napi::Number::New(info.Env(), w == nullptr ? 0 : static_cast<double>(w->Loops()));
}

const Export kExports[] = {
    {"wait", WaitAsync},
    {"cancel", CancelWait},
    {"pending", PendingWaits},
    {"loops", WaiterLoops},
};

}  // namespace

const Group kWaiter = MakeGroup("waiter", kExports);

}  // namespace podshm
