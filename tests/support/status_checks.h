// Catch2 checks on jfs::Status values, with the expression and the status in the failure message.
#pragma once

#include <catch2/catch.hpp>

#include "util/status.h"

#define REQUIRE_OK(expr)                    \
  do {                                      \
    ::jfs::Status s_ = (expr);              \
    INFO(#expr << " -> " << s_.ToString()); \
    REQUIRE(s_.ok());                       \
  } while (0)
#define CHECK_OK(expr)                      \
  do {                                      \
    ::jfs::Status s_ = (expr);              \
    INFO(#expr << " -> " << s_.ToString()); \
    CHECK(s_.ok());                         \
  } while (0)
