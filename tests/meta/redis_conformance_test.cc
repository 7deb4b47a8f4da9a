// The unchanged Meta conformance suite over Redis, standalone and Redis Cluster, reached the way
// users reach it (NewMeta("redis://...")). Database 50 on standalone, hash tag {50} on the cluster.
#include <catch2/catch.hpp>
#include <memory>
#include <string>

#include "meta/meta.h"
#include "tests/meta/conformance.h"
#include "tests/meta/redis_test_util.h"

namespace jfs::meta {
namespace {

void RunOn(const std::string& url) {
  testing::MetaBackend backend;
  backend.new_database = [&]() { return testing::FreshRedisMeta(url); };
  backend.another_client = [&]() { return testing::OpenMeta(url); };
  testing::RunMetaConformance(backend);
}

TEST_CASE("BaseMeta over standalone Redis passes the Meta conformance suite", "[meta][redis]") {
  RunOn(testing::RedisBaseUrl(false) + "/50");
}

TEST_CASE("BaseMeta over Redis Cluster passes the Meta conformance suite", "[meta][redis]") {
  RunOn(testing::RedisBaseUrl(true) + "/50");
}

}  // namespace
}  // namespace jfs::meta
