// main() for every Catch2 test program, plus a listener that records how many test cases passed and
// failed, so scripts/test.sh can report test cases rather than programs. The counts go to
// $JFS_TEST_COUNTS_DIR/counts-<pid> as "<program> <passed> <failed>"; nothing is written when the
// variable is unset.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>

#include <errno.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

class CountingListener : public Catch::TestEventListenerBase {
 public:
  using TestEventListenerBase::TestEventListenerBase;

  void testCaseEnded(const Catch::TestCaseStats& stats) override {
    if (stats.totals.assertions.failed > 0 || stats.totals.testCases.failed > 0)
      ++failed_;
    else
      ++passed_;
  }

  void testRunEnded(const Catch::TestRunStats&) override {
    const char* dir = std::getenv("JFS_TEST_COUNTS_DIR");
    if (dir == nullptr || *dir == '\0') return;
    std::string path = std::string(dir) + "/counts-" + std::to_string(getpid());
    if (FILE* f = std::fopen(path.c_str(), "a")) {
      std::fprintf(f, "%s %d %d\n", program_invocation_short_name, passed_, failed_);
      std::fclose(f);
    }
  }

 private:
  int passed_ = 0;
  int failed_ = 0;
};

}  // namespace

CATCH_REGISTER_LISTENER(CountingListener)
