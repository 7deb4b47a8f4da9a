// A small Redis client over hiredis 0.14 (Debian 12: no TLS, no cluster support): URL parsing, a
// connection pool, and the part of Redis Cluster a JuiceFS volume needs.
//
// Cluster: a JuiceFS volume on Redis Cluster prefixes every key with the hash tag "{db}" (format.md
// §2.1), so the whole volume lives in one hash slot and therefore on one master. The client only
// has to find that master (CLUSTER SLOTS), follow MOVED (the slot moved: remember the new owner),
// and refresh the topology when the owner stops answering (failover).
//
// Slot migration: while the volume's slot moves, the old owner still serves the keys it holds and
// answers ASK for the others. FollowAsk re-sends such a command to the node named by the ASK,
// prefixed with ASKING (one-shot: the slot map is not updated; MOVED does that once the move is
// done). TRYAGAIN (a multi-key command whose keys are split between the two nodes) is reported as
// a retryable error; the transaction layer retries with backoff (see redis_engine.h).
//
// Thread-safety: RedisClient is safe from many threads; a leased Conn belongs to one thread.
#pragma once

#include <hiredis.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "util/status.h"

namespace jfs::meta::redis {

struct RedisUrl {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string unix_path;  // set for unix:// URLs
  int db = 0;
  std::string user, password;
  std::string display;  // the URL without the password, for messages
};

// Parses redis://[user:password@]host[:port][/db] and unix:///path/redis.sock[?db=N]. Without a
// password in the URL, $REDIS_PASSWORD and then $META_PASSWORD are used. rediss:// and Sentinel
// addresses (a comma in the host) → ENOTSUP; anything malformed → EINVAL.
Status ParseRedisUrl(const std::string& url, RedisUrl* out);

struct ReplyDeleter {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using Reply = std::unique_ptr<redisReply, ReplyDeleter>;
using Cmd = std::vector<std::string>;

// What an error reply asks the client to do.
enum class Redirect { kNone, kMoved, kAsk, kUnstable /* TRYAGAIN, CLUSTERDOWN, ... */ };
Redirect RedirectOf(const redisReply* r);
// "ASK 3999 127.0.0.1:6381" / "MOVED ..." → host, port. False for anything else.
bool RedirectTarget(const redisReply* r, std::string* host, int* port);

// The Redis hash slot of `key` (CRC16/XMODEM of the hash tag, mod 16384).
uint16_t KeySlot(std::string_view key);

// Pipelines sent by this process so far (each is one network round trip); for benchmarks.
uint64_t RoundTrips();

// A reply read without one redisReply and one malloc per element: the strings of a top-level
// array back to back in one buffer. For the big replies of readdir (HGETALL of a directory, MGET
// of its attributes), where hiredis's per-element objects cost the client more CPU than the
// server spends on the commands. Nested arrays are not kept (`nested` is set).
struct FlatReply {
  struct Item {
    size_t off = 0;
    size_t len = 0;
    int type = 0;  // REDIS_REPLY_STRING, _NIL, _INTEGER (its decimal text), _STATUS, _ERROR
  };
  int type = 0;  // of the top-level reply; STRING/STATUS/ERROR keep their text in `data`
  long long integer = 0;
  bool nested = false;
  std::string data;
  std::vector<Item> items;  // the elements of an ARRAY reply

  void Clear() {
    type = 0;
    integer = 0;
    nested = false;
    data.clear();
    items.clear();
  }
  std::string_view str(size_t i) const {
    return std::string_view(data).substr(items[i].off, items[i].len);
  }
  std::string_view text() const { return data; }
};

// A request in the Redis protocol, built in place (no std::string per argument): for commands
// with many arguments (MGET of a directory's attributes).
class RawCmd {
 public:
  // `argc` must be the number of Arg() calls that follow (the protocol's header counts them).
  explicit RawCmd(size_t argc);
  RawCmd& Arg(std::string_view a);
  // An argument made of a prefix and a decimal number ("{1}i" + 42), without a temporary string.
  RawCmd& Arg(std::string_view prefix, uint64_t n);
  const std::string& data() const { return buf_; }

 private:
  std::string buf_;
};

// One connection (authenticated, on the right database).
class Conn {
 public:
  struct CtxDeleter {
    void operator()(redisContext* c) const { redisFree(c); }
  };
  explicit Conn(std::unique_ptr<redisContext, CtxDeleter> ctx, std::string addr)
      : ctx_(std::move(ctx)), addr_(std::move(addr)) {}

  // Sends `cmds` pipelined and reads one reply each. A transport failure marks the connection
  // broken and returns a retryable EIO; error replies are returned as replies (see ReplyStatus).
  Status Pipeline(const std::vector<Cmd>& cmds, std::vector<Reply>* replies);
  Status Call(const Cmd& cmd, Reply* reply);
  // As Pipeline, each reply read flat (replies->size() becomes cmds.size(); elements beyond
  // are reused, so a caller keeping the vector keeps its buffers' capacity).
  Status PipelineFlat(const std::vector<const RawCmd*>& cmds, std::vector<FlatReply>* replies);

  bool broken() const { return broken_; }
  const std::string& addr() const { return addr_; }
  // Set while keys are WATCHed outside a finished EXEC. Release turns it into an UNWATCH sent in
  // front of the connection's next pipeline (saving a round trip), so a stale WATCH never makes
  // the next transaction's EXEC fail.
  bool dirty = false;
  bool unwatch_pending = false;
  uint64_t generation = 0;  // the client's topology generation it was made in
  bool ask_target = false;  // leased by LeaseAt (a migration's importing node), not the owner

 private:
  std::unique_ptr<redisContext, CtxDeleter> ctx_;
  std::string addr_;
  bool broken_ = false;
};

// OK for a non-error reply; the error reply mapped to a Status otherwise: OOM → ENOSPC,
// NOAUTH/WRONGPASS → EACCES, MOVED/ASK/TRYAGAIN/CLUSTERDOWN/LOADING/READONLY → retryable EIO,
// anything else → EIO. The Redis message is kept.
Status ReplyStatus(const redisReply* r, std::string_view what);

class RedisClient {
 public:
  // Connects once (so a wrong address or password fails here), detects Redis Cluster with
  // CLUSTER INFO, and in cluster mode finds the master owning the volume's slot.
  static Status Open(const RedisUrl& url, std::unique_ptr<RedisClient>* out);
  ~RedisClient();

  bool cluster() const { return cluster_; }
  // "" standalone, "{db}" on a cluster.
  const std::string& prefix() const { return prefix_; }
  const RedisUrl& url() const { return url_; }

  // A connection to the node owning the volume: idle from the pool or new.
  Status Lease(std::unique_ptr<Conn>* out);
  // Returns a connection to the pool (dropped when broken).
  void Release(std::unique_ptr<Conn> conn);
  // Reacts to an error reply or transport failure seen on a leased connection: on MOVED the new
  // owner is remembered, on a lost connection in cluster mode the topology is refreshed. Drops
  // the pool when the owner changed.
  void NoteFailure(const Status& st, const redisReply* reply);

  // A connection to the node at host:port (the target of an ASK); Release pools it apart from
  // the owner's connections.
  Status LeaseAt(const std::string& host, int port, std::unique_ptr<Conn>* out);

  // For every reply in `replies` that is an ASK redirection (and whose index `may_follow` accepts),
  // sends ASKING + that command to the node it names and puts the new reply in its place. Commands
  // for one node share one pipeline. Transport failures are returned (retryable).
  Status FollowAsk(const std::vector<Cmd>& cmds, std::vector<Reply>* replies,
                   const std::function<bool(size_t)>& may_follow = nullptr);

  // Pipelined commands on a pooled connection (no transaction), following ASK and retrying
  // transport failures and other redirections a few times. For idempotent commands only.
  Status Run(const std::vector<Cmd>& cmds, std::vector<Reply>* replies);

 private:
  explicit RedisClient(RedisUrl url) : url_(std::move(url)) {}
  Status Connect(const std::string& host, int port, std::unique_ptr<Conn>* out);
  // Asks the known nodes for CLUSTER SLOTS and sets the master of our slot.
  Status RefreshTopology();

  RedisUrl url_;
  bool cluster_ = false;
  std::string prefix_;
  uint16_t slot_ = 0;

  std::mutex mu_;
  std::string host_;  // the node serving the volume
  int port_ = 0;
  std::vector<std::pair<std::string, int>> nodes_;  // every node seen, for topology refreshes
  std::vector<std::unique_ptr<Conn>> idle_;
  std::vector<std::unique_ptr<Conn>> ask_idle_;  // connections to ASK targets (any node)
  uint64_t generation_ = 0;  // bumped when host_/port_ change; older connections are dropped
};

}  // namespace jfs::meta::redis
