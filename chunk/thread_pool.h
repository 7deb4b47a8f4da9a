// A fixed set of worker threads running queued tasks in FIFO order. Owned by a ChunkStore, so no
// thread exists before the store does and none outlives it.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "util/status.h"

namespace jfs::chunk {

class ThreadPool {
 public:
  ThreadPool() = default;
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;
  // Runs every task still queued, then joins the threads.
  ~ThreadPool();

  // Starts `threads` workers; a failure to create one is EAGAIN (and stops those created).
  Status Start(int threads);

  // Queues a task. Tasks must not throw and must not wait for other tasks of the same pool.
  void Submit(std::function<void()> task);

 private:
  void Run();
  void Stop();

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace jfs::chunk
