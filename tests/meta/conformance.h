// The Meta conformance suite: every behaviour the Meta interface (meta/meta.h) promises, written
// only against that interface so that each engine runs it unchanged.
//
// Usage, from a Catch2 TEST_CASE:
//   MetaBackend b;
//   b.new_database = [] { ... a client of a new, empty, unformatted database ... };
//   b.another_client = [] { ... one more client of the database new_database made last ... };
//   RunMetaConformance(b);
// Each case is a Catch2 SECTION that starts from a new database.
#pragma once

#include <functional>
#include <memory>

#include "meta/meta.h"

namespace jfs::meta::testing {

struct MetaBackend {
  std::function<std::unique_ptr<Meta>()> new_database;
  std::function<std::unique_ptr<Meta>()> another_client;
};

void RunMetaConformance(const MetaBackend& backend);
// Directory statistics and quotas (tests/meta/conformance_quota.cc); part of RunMetaConformance.
void RunQuotaConformance(const MetaBackend& backend);

// The slice maintenance cases (tests/meta/conformance_slices.cc), part of RunMetaConformance.
void TestSliceOps(const MetaBackend& backend);
// Slices replaced by compactions while the trash is on (delSlices), part of RunMetaConformance.
void TestDelSlices(const MetaBackend& backend);

}  // namespace jfs::meta::testing
