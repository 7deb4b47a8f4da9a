// jfs gateway META-URL ADDRESS:PORT: serves the volume over the S3 protocol (server/s3) until
// SIGTERM or SIGINT, then stops taking requests, closes the volume (flushing it) and exits 0.
#include <CLI/CLI.hpp>

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

#include "lib/volume.h"
#include "server/http/http_server.h"
#include "server/s3/gateway.h"
#include "tools/common.h"

namespace jfs::tools {
namespace {

struct GatewayArgs {
  std::string meta_url, address;
  std::string access_key, secret_key;
  std::string tls_cert, tls_key;
  bool multi_buckets = false;
  unsigned timeout = 60;
  std::string port_file;  // written with the bound port once serving (tests pick port 0)
};

bool ReadWhole(const std::string& path, std::string* out) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return false;
  std::ostringstream ss;
  ss << f.rdbuf();
  *out = ss.str();
  return static_cast<bool>(f) || f.eof();
}

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
  if (!server::http::ParseListenAddress(a.address, &so.address, &so.port)) {
    PrintError("gateway", "bad address '" + a.address + "' (expected HOST:PORT)");
    return kExitUsage;
  }
  so.idle_timeout_seconds = a.timeout;
  if (!a.tls_cert.empty() || !a.tls_key.empty()) {
    if (a.tls_cert.empty() || a.tls_key.empty()) {
      PrintError("gateway", "--tls-cert and --tls-key go together");
      return kExitUsage;
    }
    if (!ReadWhole(a.tls_cert, &so.tls_cert_pem) || !ReadWhole(a.tls_key, &so.tls_key_pem)) {
      PrintError("gateway", "cannot read the TLS certificate or key");
      return kExitError;
    }
  }
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

  // SIGTERM/SIGINT are taken by sigwait below: blocked before any thread starts, so no server
  // thread receives them.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  (void)signal(SIGPIPE, SIG_IGN);

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
  std::unique_ptr<server::http::Server> srv;
  s = server::http::Server::Start(
      so, [&gw](const server::http::Request& r) { return gw.NewHandler(r); }, &srv);
  if (!s.ok()) {
    PrintError("gateway", s.ToString());
    return kExitError;
  }
  std::cerr << "jfs gateway: serving volume " << volume->format().name << " on "
            << (so.tls_cert_pem.empty() ? "http" : "https") << "://" << so.address << ":"
            << srv->port() << (a.multi_buckets ? " (multi-buckets)" : "") << std::endl;
  if (!a.port_file.empty()) {
    std::ofstream pf(a.port_file + ".tmp");
    pf << srv->port() << "\n";
    pf.close();
    std::rename((a.port_file + ".tmp").c_str(), a.port_file.c_str());
  }
  int sig = 0;
  sigwait(&stop, &sig);
  srv->Stop();
  s = volume->Close();
  if (!s.ok()) {
    PrintError("gateway", "closing the volume: " + s.ToString());
    return kExitError;
  }
  return kExitOk;
}

}  // namespace

void AddGatewayCommand(CLI::App& app, const GlobalOptions& global, Action* action) {
  auto args = std::make_shared<GatewayArgs>();
  CLI::App* cmd = app.add_subcommand("gateway", "serve the volume over the S3 protocol");
  cmd->add_option("META-URL", args->meta_url, "META-URL of the volume")->required();
  cmd->add_option("ADDRESS", args->address, "HOST:PORT to listen on (e.g. 127.0.0.1:9000)")
      ->required();
  cmd->add_option("--access-key", args->access_key,
                  "access key of the S3 clients (default $MINIO_ROOT_USER)");
  cmd->add_option("--secret-key", args->secret_key,
                  "secret key of the S3 clients (default $MINIO_ROOT_PASSWORD)");
  cmd->add_option("--tls-cert", args->tls_cert, "PEM certificate: serve HTTPS");
  cmd->add_option("--tls-key", args->tls_key, "PEM private key of --tls-cert");
  cmd->add_flag("--multi-buckets", args->multi_buckets,
                "top-level directories are buckets (default: one bucket named after the volume)");
  cmd->add_option("--timeout", args->timeout, "seconds before an idle connection is closed")
      ->default_val(60);
  cmd->add_option("--port-file", args->port_file,
                  "write the port being served to this file once ready (with port 0)");
  cmd->callback(
      [args, &global, action] { *action = [args, &global] { return RunGateway(*args, global); }; });
}

}  // namespace jfs::tools
