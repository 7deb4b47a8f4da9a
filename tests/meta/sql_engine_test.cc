#include <catch2/catch.hpp>
#include "meta/sql/sql_engine.h"
TEST_CASE("placeholder") { CHECK(true); }
