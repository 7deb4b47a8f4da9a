// MemEngine: an in-memory Engine (meta/engine.h) for unit tests and fault injection.
//
// The whole database lives in std::maps behind one mutex; a transaction holds the mutex for its
// whole run, so transactions are serializable. Every write records how to undo itself, and a
// transaction whose callback fails is rolled back from that log. Several MemEngines may share one
// store (NewClient), standing in for several clients of one database.
//
// Counters follow the SQL engines: "next..." counters hold the next free value (Alloc returns it
// and advances), slice refcounts are real counts, hard-link parents are stored explicitly (as Redis
// does) so AdjustParent / ListParents are exercised for real.
//
// Fault injection (shared by every client of the store):
//  * FailTxCall(n, st): the n-th Tx primitive call from now (1-based) returns `st` instead of
//  running;
//    the surrounding transaction then fails like any other and is rolled back.
//  * ForceRetries(k): each of the next k write transactions whose callback succeeds is rolled back
//    and run again once, as a real engine does after a write conflict.
//  * Dump(): a deterministic text rendering of every table, to compare states before and after.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "meta/engine.h"

namespace jfs::meta {

class MemEngine : public Engine {
 public:
  MemEngine();  // a client of a new, empty store
  ~MemEngine() override;

  // Another client of the same store.
  std::unique_ptr<MemEngine> NewClient() const;

  std::string Name() const override { return "memory"; }
  Status InitSchema() override;
  Status Reset() override;
  Status Txn(const std::function<Status(Tx&)>& fn, bool read_only = false) override;

  void FailTxCall(uint64_t n, Status st);
  void ForceRetries(int k);
  // Tx primitive calls made so far on this store (reads and writes).
  uint64_t TxCalls() const;
  std::string Dump() const;

  struct Store;

 private:
  explicit MemEngine(std::shared_ptr<Store> store);
  std::shared_ptr<Store> store_;
};

}  // namespace jfs::meta
