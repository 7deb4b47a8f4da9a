// main() for every Catch2 test program, plus a listener that records how many test cases passed and
// failed, so scripts/test.sh can report test cases rather than programs. The counts go to
// $JFS_TEST_COUNTS_DIR/counts-<pid> as "<program> <passed> <failed>", then, tab-separated, "@ARG"
// for each command-line argument in order and KEY=VALUE for every JFS_* environment variable but
// JFS_TEST_COUNTS_DIR, sorted: one program runs as several meson tests that differ only in their
// arguments or environment (JFS_TEST_ENGINE...), and scripts/summarize_tests.py matches each test's
// to tell them apart. Nothing is written when the variable is unset.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>

#include <errno.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

extern char** environ;

namespace {

// `s` with tabs and newlines made spaces, for one field of a counts line.
std::string Flat(std::string s) {
  for (char& c : s) {
    if (c == '\t' || c == '\n') c = ' ';
  }
  return s;
}

// This process's command-line arguments after the program name, from /proc/self/cmdline.
std::vector<std::string> Args() {
  std::vector<std::string> out;
  FILE* f = std::fopen("/proc/self/cmdline", "r");
  if (f == nullptr) return out;
  std::string all;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) all.append(buf, n);
  std::fclose(f);
  size_t pos = all.find('\0');  // skips argv[0]
  while (pos != std::string::npos && pos + 1 < all.size()) {
    const size_t end = all.find('\0', pos + 1);
    out.push_back(all.substr(pos + 1, end == std::string::npos ? end : end - pos - 1));
    pos = end;
  }
  return out;
}

class CountingListener : public Catch::TestEventListenerBase {
 public:
  using TestEventListenerBase::TestEventListenerBase;

  void testCaseEnded(const Catch::TestCaseStats& stats) override {
    if (stats.totals.assertions.failed > 0 || stats.totals.testCases.failed > 0)
      ++failed_;
    else
      ++passed_;
  }

  // The arguments and environment as the run starts: a program may change its own environment
  // (test_system_dump sets JFS_TEST_ENGINE), and the summary matches what meson passed in.
  void testRunStarting(const Catch::TestRunInfo& info) override {
    TestEventListenerBase::testRunStarting(info);
    for (std::string a : Args()) key_ += "\t@" + Flat(std::move(a));
    std::vector<std::string> vars;
    for (char** e = environ; *e != nullptr; ++e) {
      std::string v = *e;
      if (v.rfind("JFS_", 0) != 0 || v.rfind("JFS_TEST_COUNTS_DIR=", 0) == 0) continue;
      vars.push_back(Flat(std::move(v)));
    }
    std::sort(vars.begin(), vars.end());
    for (const std::string& v : vars) key_ += "\t" + v;
  }

  void testRunEnded(const Catch::TestRunStats&) override {
    const char* dir = std::getenv("JFS_TEST_COUNTS_DIR");
    if (dir == nullptr || *dir == '\0') return;
    std::string path = std::string(dir) + "/counts-" + std::to_string(getpid());
    const std::string line = std::string(program_invocation_short_name) + " " +
                             std::to_string(passed_) + " " + std::to_string(failed_) + key_ + "\n";
    if (FILE* f = std::fopen(path.c_str(), "a")) {
      std::fputs(line.c_str(), f);
      std::fclose(f);
    }
  }

 private:
  int passed_ = 0;
  int failed_ = 0;
  std::string key_;  // the tab-separated arguments and JFS_* variables (testRunStarting)
};

}  // namespace

CATCH_REGISTER_LISTENER(CountingListener)
