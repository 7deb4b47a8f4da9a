// Helpers shared by the Redis engine tests: the server URLs (a missing variable fails the test,
// never skips it), a plain client for raw key checks, and a fresh-volume constructor.
#pragma once

#include <atomic>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "meta/meta.h"
#include "meta/redis/redis_client.h"

namespace jfs::meta::testing {

// Stops a worker thread (sets `stop`) and joins it when the scope ends, also when a REQUIRE fails
// half-way: a test must never leave its worker running.
struct StopAndJoin {
  std::atomic<bool>& stop;
  std::thread& t;
  ~StopAndJoin() {
    stop = true;
    if (t.joinable()) t.join();
  }
};

// $JFS_TEST_REDIS_URL or $JFS_TEST_REDIS_CLUSTER_URL; FAILs when unset.
inline std::string RedisBaseUrl(bool cluster) {
  const char* var = cluster ? "JFS_TEST_REDIS_CLUSTER_URL" : "JFS_TEST_REDIS_URL";
  const char* v = std::getenv(var);
  INFO(var << " is not set: start the servers with scripts/servers.sh (jfs_start_redis)");
  REQUIRE((v && *v));
  return v;
}

// A plain Redis client on the volume's node (no JuiceFS logic), for raw checks.
struct RawRedis {
  std::unique_ptr<redis::RedisClient> client;

  explicit RawRedis(const std::string& url) {
    redis::RedisUrl u;
    REQUIRE(redis::ParseRedisUrl(url, &u).ok());
    Status st = redis::RedisClient::Open(u, &client);
    INFO(st.ToString());
    REQUIRE(st.ok());
  }
  std::string Key(const std::string& name) const { return client->prefix() + name; }
  redis::Reply Do(const redis::Cmd& cmd) {
    std::vector<redis::Reply> rs;
    Status st = client->Run({cmd}, &rs);
    INFO(cmd[0] << ": " << st.ToString());
    REQUIRE(st.ok());
    return std::move(rs[0]);
  }
  // The string value of `name` (prefixed), "" with *exists=false when missing.
  std::string Get(const std::string& name, bool* exists = nullptr) {
    redis::Reply r = Do({"GET", Key(name)});
    if (exists) *exists = r->type == REDIS_REPLY_STRING;
    return r->type == REDIS_REPLY_STRING ? std::string(r->str, r->len) : std::string();
  }
  std::string Type(const std::string& name) {
    redis::Reply r = Do({"TYPE", Key(name)});
    return std::string(r->str, r->len);
  }
};

inline std::unique_ptr<Meta> OpenMeta(const std::string& url) {
  std::unique_ptr<Meta> m;
  Status st = NewMeta(url, &m);
  INFO(url << ": " << st.ToString());
  REQUIRE(st.ok());
  return m;
}

// A client of an empty database `db` (Reset first).
inline std::unique_ptr<Meta> FreshRedisMeta(const std::string& url) {
  std::unique_ptr<Meta> m = OpenMeta(url);
  Status st = m->Reset();
  INFO(url << ": " << st.ToString());
  REQUIRE(st.ok());
  return m;
}

// One command to the node at 127.0.0.1:port, bypassing all cluster logic; FAILs on a transport
// error (error replies are returned).
inline redis::Reply NodeCmd(int port, const redis::Cmd& cmd) {
  std::unique_ptr<redisContext, redis::Conn::CtxDeleter> c(redisConnect("127.0.0.1", port));
  INFO("connect to 127.0.0.1:" << port);
  REQUIRE(c);
  REQUIRE(c->err == 0);
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  for (const std::string& a : cmd) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  void* r = redisCommandArgv(c.get(), static_cast<int>(argv.size()), argv.data(), lens.data());
  INFO(cmd[0] << " on port " << port);
  REQUIRE(r);
  return redis::Reply(static_cast<redisReply*>(r));
}

// A field of INFO `section` on the node at `port` ("" when missing or the node does not answer).
inline std::string NodeInfo(int port, const std::string& section, const std::string& field) {
  std::unique_ptr<redisContext, redis::Conn::CtxDeleter> c(redisConnect("127.0.0.1", port));
  if (!c || c->err) return "";
  std::unique_ptr<redisReply, redis::ReplyDeleter> r(
      static_cast<redisReply*>(redisCommand(c.get(), "INFO %s", section.c_str())));
  if (!r || r->type != REDIS_REPLY_STRING) return "";
  const std::string text(r->str, r->len), key = "\n" + field + ":";
  size_t at = text.find(key);
  if (at == std::string::npos) return "";
  at += key.size();
  return text.substr(at, text.find_first_of("\r\n", at) - at);
}

// The master serving `slot` and its replicas, as seen by the node at `port` (master 0: no answer).
struct SlotNodes {
  int master = 0;
  std::vector<int> replicas;
};
inline SlotNodes SlotOwner(int port, uint16_t slot) {
  SlotNodes out;
  std::unique_ptr<redisContext, redis::Conn::CtxDeleter> c(redisConnect("127.0.0.1", port));
  if (!c || c->err) return out;
  std::unique_ptr<redisReply, redis::ReplyDeleter> r(
      static_cast<redisReply*>(redisCommand(c.get(), "CLUSTER SLOTS")));
  if (!r || r->type != REDIS_REPLY_ARRAY) return out;
  for (size_t i = 0; i < r->elements; ++i) {
    const redisReply* range = r->element[i];
    if (range->elements < 3 || range->element[0]->integer > slot ||
        range->element[1]->integer < slot) {
      continue;
    }
    out.master = static_cast<int>(range->element[2]->element[1]->integer);
    for (size_t j = 3; j < range->elements; ++j) {
      out.replicas.push_back(static_cast<int>(range->element[j]->element[1]->integer));
    }
  }
  return out;
}

// The port of JFS_TEST_REDIS_CLUSTER_URL-style URLs ("redis://127.0.0.1:17001").
inline int UrlPort(const std::string& url) {
  redis::RedisUrl u;
  REQUIRE(redis::ParseRedisUrl(url, &u).ok());
  return u.port;
}

}  // namespace jfs::meta::testing
