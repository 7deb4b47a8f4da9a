// Helpers shared by the Redis engine tests: the server URLs (a missing variable fails the test,
// never skips it), a plain client for raw key checks, and a fresh-volume constructor.
#pragma once

#include <catch2/catch.hpp>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "meta/meta.h"
#include "meta/redis/redis_client.h"

namespace jfs::meta::testing {

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

}  // namespace jfs::meta::testing
