// The Redis metadata engine: meta::Engine over JuiceFS's Redis key layout (format.md §2), so a
// volume formatted here opens with JuiceFS and the other way round.
//
// Storage conventions (format.md §2.2, §2.5):
//   * keys i{ino} (Attr), d{ino} (hash name → 9-byte entry), p{ino} (hash parent → links, only for
//     hard-linked inodes), s{ino}, x{ino}, c{ino}_{indx} (list of 24-byte slice records),
//     sliceRef (hash k{id}_{size} → refs−1, missing = 1), session{sid}, allSessions,
//     sessionInfos, delfiles, setting; counters nextinode/nextchunk/nextsession hold the *last
//     used* value, the others (usedSpace, totalInodes, nextTrash, ...) keep their names;
//   * on Redis Cluster every key carries the "{db}" hash tag prefix, so a volume is one slot.
//
// Transactions: optimistic. Inside Txn every read first WATCHes its key (pipelined with the read,
// one round trip); writes are buffered in the Tx (reads see them) and sent as MULTI…EXEC in one
// round trip at commit. EXEC aborted by a concurrent change → the body runs again, with jittered
// backoff, up to max_attempts. Read-only transactions read without WATCH (one round trip per read,
// like JuiceFS's own reads). Nothing is written before EXEC, so a failed transaction leaves no
// partial state. A connection lost while EXEC is in flight → EIO "outcome unknown" (not retried).
//
// Redis Cluster: MOVED updates the slot owner, a lost owner refreshes the topology (failover);
// ASK (slot migration) is followed per command with ASKING. A transaction whose WATCHed reads are
// refused by the old owner, or whose keys are split between the two nodes (TRYAGAIN), runs again
// after a short backoff until the migration ends (cluster_retry_ms); one that read nothing is sent
// whole to the importing node when the old owner answers ASK.
//
// Thread-safety: Txn may be called from any number of threads (one pooled connection per
// transaction).
#pragma once

#include <memory>
#include <string>

#include "meta/engine.h"
#include "meta/redis/redis_client.h"
#include "util/status.h"

namespace jfs::meta::redis {

struct RedisEngineOptions {
  int max_attempts = 50;  // JuiceFS retries a Redis transaction 50 times
  // Redis Cluster: how long a transaction keeps retrying while its slot migrates (TRYAGAIN, ASK on
  // a WATCHed key) or its master fails over (connection refused, CLUSTERDOWN, MOVED).
  int cluster_retry_ms = 30000;
};

class RedisEngine final : public Engine {
 public:
  static Status Open(const std::string& url, std::unique_ptr<RedisEngine>* out,
                     RedisEngineOptions options = {});
  ~RedisEngine() override;

  std::string Name() const override { return "redis"; }
  // Nothing to create in Redis; refuses a database that holds keys but no JuiceFS volume (so
  // `format` never writes into someone else's data).
  Status InitSchema() override;
  // FLUSHDB on a standalone server; on a cluster, deletes the keys with the volume's "{db}" prefix.
  Status Reset() override;
  Status Txn(const std::function<Status(Tx&)>& fn, bool read_only = false) override;

  RedisClient& client() { return *client_; }
  // The volume's key for a JuiceFS key name ("i1" → "{1}i1" on a cluster).
  std::string Key(std::string_view name) const { return client_->prefix() + std::string(name); }

 private:
  RedisEngine(std::unique_ptr<RedisClient> client, RedisEngineOptions options)
      : client_(std::move(client)), options_(options) {}

  std::unique_ptr<RedisClient> client_;
  RedisEngineOptions options_;
};

}  // namespace jfs::meta::redis
