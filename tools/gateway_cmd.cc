// jfs gateway META-URL ADDRESS:PORT: serves the volume over the S3 protocol (server/s3) until
// SIGTERM or SIGINT, then stops taking requests, closes the volume (flushing it) and exits 0.
#include <CLI/CLI.hpp>

#include <cstdlib>

#include "lib/volume.h"
#include "server/http/http_server.h"
#include "server/s3/gateway.h"
#include "tools/common.h"
#include "tools/serve.h"

namespace jfs::tools {
namespace {

struct GatewayArgs : ServeArgs {
  std::string access_key, secret_key;
  bool multi_buckets = false;
};

int RunGateway(const GatewayArgs& a, const GlobalOptions& g) {
  std::string ak = a.access_key, sk = a.secret_key;
  if (ak.empty() && std::getenv("MINIO_ROOT_USER") != nullptr) ak = std::getenv("MINIO_ROOT_USER");
  if (sk.empty() && std::getenv("MINIO_ROOT_PASSWORD") != nullptr) {
    sk = std::getenv("MINIO_ROOT_PASSWORD");
  }
  if (ak.empty() || sk.empty()) {
    PrintError("gateway",
               "credentials are required: --access-key/--secret-key or "
               "MINIO_ROOT_USER/MINIO_ROOT_PASSWORD");
    return kExitUsage;
  }
  if (ak.size() < 3 || sk.size() < 8) {
    PrintError("gateway", "the access key needs at least 3 characters, the secret key at least 8");
    return kExitUsage;
  }
  server::http::ServerOptions so;
  if (int rc = ServerOptionsOf("gateway", a, &so); rc != kExitOk) return rc;
  lib::VolumeOptions vo;
  vo.mount_point = "s3gateway:" + a.address;
  if (!g.cache_dir.empty()) vo.cache_dir = g.cache_dir;
  if (!g.cache_size.empty()) {
    uint64_t bytes = 0;
    if (!ParseSize(g.cache_size, 1ull << 20, &bytes)) {
      PrintError("gateway", "invalid value '" + g.cache_size + "' for --cache-size");
      return kExitUsage;
    }
    vo.cache_size = bytes;
  }
  if (!g.buffer_size.empty()) {
    uint64_t bytes = 0;
    if (!ParseSize(g.buffer_size, 1ull << 20, &bytes) || bytes < (16ull << 20)) {
      PrintError("gateway", "invalid value '" + g.buffer_size + "' for --buffer-size");
      return kExitUsage;
    }
    vo.buffer_size = bytes;
  }
  vo.writeback = g.writeback;
  vo.cache_large_write = g.cache_large_write;

  sigset_t stop;
  BlockStopSignals(&stop);

  std::unique_ptr<lib::Volume> volume;
  Status s = lib::Volume::Open(a.meta_url, vo, &volume);
  if (!s.ok()) {
    PrintError("gateway", "cannot open volume " + a.meta_url + ": " + s.ToString());
    return kExitError;
  }
  server::s3::GatewayOptions go;
  go.credentials = {ak, sk};
  go.multi_buckets = a.multi_buckets;
  server::s3::Gateway gw(volume.get(), go);
  s = gw.Init();
  if (!s.ok()) {
    PrintError("gateway", "cannot prepare the volume: " + s.ToString());
    return kExitError;
  }
  return Serve(
      "gateway", a, so, [&gw](const server::http::Request& r) { return gw.NewHandler(r); }, *volume,
      stop, a.multi_buckets ? " (multi-buckets)" : "");
}

}  // namespace

void AddGatewayCommand(CLI::App& app, const GlobalOptions& global, Action* action) {
  auto args = std::make_shared<GatewayArgs>();
  CLI::App* cmd = app.add_subcommand("gateway", "serve the volume over the S3 protocol");
  AddServeOptions(cmd, args.get(), "127.0.0.1:9000");
  cmd->add_option("--access-key", args->access_key,
                  "access key of the S3 clients (default $MINIO_ROOT_USER)");
  cmd->add_option("--secret-key", args->secret_key,
                  "secret key of the S3 clients (default $MINIO_ROOT_PASSWORD)");
  cmd->add_flag("--multi-buckets", args->multi_buckets,
                "top-level directories are buckets (default: one bucket named after the volume)");
  cmd->callback(
      [args, &global, action] { *action = [args, &global] { return RunGateway(*args, global); }; });
}

}  // namespace jfs::tools
