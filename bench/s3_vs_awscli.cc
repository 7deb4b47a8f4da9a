// s3_vs_awscli: big-object upload and download through libjuicefs's S3 client against Debian's
// aws-cli (`/usr/bin/aws s3 cp`) moving the same bytes to/from the same S3 server, in ONE run.
//
// The S3 client uploads with a parallel multipart upload (8 MiB parts) and downloads with parallel
// ranged GETs, as a client moving big objects would; aws-cli uses its own defaults (8 MiB parts,
// 10 concurrent requests). Prints MiB/s of each and the ratios (goal >= 2x aws-cli). Not a test:
//   build/bench/s3_vs_awscli http://127.0.0.1:14569 [--mib 256] [--threads 16]
// Credentials: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (default S3RVER/S3RVER).
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include "object/s3_store.h"

namespace {

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

int Run(const std::string& cmd) {
  int rc = std::system(cmd.c_str());
  return rc;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("S3 client vs aws-cli, big object up/down");
  std::string endpoint = "http://127.0.0.1:14569";
  int mib = 256, threads = 16;
  std::string aws = "/usr/bin/aws";
  app.add_option("ENDPOINT", endpoint, "S3 endpoint (path style)");
  app.add_option("--mib", mib, "object size in MiB");
  app.add_option("--threads", threads, "concurrent requests of the libjuicefs client");
  app.add_option("--aws", aws, "aws-cli binary");
  CLI11_PARSE(app, argc, argv);
  if (std::getenv("AWS_ACCESS_KEY_ID") == nullptr) setenv("AWS_ACCESS_KEY_ID", "S3RVER", 1);
  if (std::getenv("AWS_SECRET_ACCESS_KEY") == nullptr) setenv("AWS_SECRET_ACCESS_KEY", "S3RVER", 1);
  if (std::getenv("AWS_DEFAULT_REGION") == nullptr) setenv("AWS_DEFAULT_REGION", "us-east-1", 1);

  const std::string bucket = "bench-" + std::to_string(getpid());
  jfs::object::S3Options o;
  if (!jfs::object::ParseS3Bucket(endpoint + "/" + bucket, true, &o).ok()) return 2;
  jfs::object::ApplyAwsEnvironment(&o, false);
  std::unique_ptr<jfs::object::S3Store> s;
  if (!jfs::object::NewS3Store(o, &s).ok()) return 2;
  jfs::Status st = s->Create();
  if (!st.ok()) {
    std::fprintf(stderr, "create bucket: %s\n", st.ToString().c_str());
    return 1;
  }

  const size_t size = static_cast<size_t>(mib) << 20;
  std::string data(size, '\0');
  std::mt19937_64 rng(1);
  for (size_t i = 0; i + 8 <= size; i += 8) {
    uint64_t v = rng();
    std::memcpy(&data[i], &v, 8);
  }
  const std::string dir = std::filesystem::temp_directory_path() / ("s3bench-" + bucket);
  std::filesystem::create_directories(dir);
  {
    std::ofstream f(dir + "/src", std::ios::binary);
    f.write(data.data(), static_cast<std::streamsize>(size));
  }

  double t0 = Now();
  st = jfs::object::PutMultipart(*s, "jfs-obj", data, 8 << 20, threads);
  double jfs_up = Now() - t0;
  if (!st.ok()) {
    std::fprintf(stderr, "upload: %s\n", st.ToString().c_str());
    return 1;
  }
  std::string back;
  t0 = Now();
  st = jfs::object::GetParallel(*s, "jfs-obj", size, 8 << 20, threads, &back);
  double jfs_down = Now() - t0;
  if (!st.ok() || back != data) {
    std::fprintf(stderr, "download: %s\n", st.ok() ? "data differs" : st.ToString().c_str());
    return 1;
  }

  const std::string base = aws + " --endpoint-url " + endpoint + " s3 cp --only-show-errors ";
  t0 = Now();
  if (Run(base + dir + "/src s3://" + bucket + "/aws-obj") != 0) return 1;
  double aws_up = Now() - t0;
  t0 = Now();
  if (Run(base + "s3://" + bucket + "/aws-obj " + dir + "/dst") != 0) return 1;
  double aws_down = Now() - t0;
  std::filesystem::remove_all(dir);
  (void)s->Delete("jfs-obj");
  (void)s->Delete("aws-obj");

  auto rate = [&](double secs) { return static_cast<double>(mib) / secs; };
  std::printf("object %d MiB, libjuicefs %d concurrent requests\n", mib, threads);
  std::printf("upload:   libjuicefs %8.1f MiB/s   aws-cli %8.1f MiB/s   ratio %.2fx (goal >= 2x)\n",
              rate(jfs_up), rate(aws_up), aws_up / jfs_up);
  std::printf("download: libjuicefs %8.1f MiB/s   aws-cli %8.1f MiB/s   ratio %.2fx (goal >= 2x)\n",
              rate(jfs_down), rate(aws_down), aws_down / jfs_down);
  return 0;
}
