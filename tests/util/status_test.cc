#include <catch2/catch.hpp>

#include "util/status.h"

using jfs::Status;

TEST_CASE("Status OK is cheap and carries no message", "[util]") {
  Status s;
  CHECK(s.ok());
  CHECK(s.code() == 0);
  CHECK(s.message().empty());
  CHECK(s.ToString() == "OK");
}

TEST_CASE("Status errors carry errno, message and retryability", "[util]") {
  Status e = Status::NotFound("no such file 'a'");
  CHECK_FALSE(e.ok());
  CHECK(e.code() == ENOENT);
  CHECK_FALSE(e.retryable());
  CHECK(e.ToString().find("ENOENT") == 0);
  CHECK(e.ToString().find("no such file 'a'") != std::string::npos);
  Status r = Status::Retryable(EIO, "timeout");
  CHECK(r.retryable());
  Status c = r.WithContext("put chunks/0/0/1_0_4");
  CHECK(c.retryable());
  CHECK(c.message() == "put chunks/0/0/1_0_4: timeout");
  Status copy = c;
  CHECK(copy.code() == EIO);
  CHECK(Status::Error(0).ok());
}
