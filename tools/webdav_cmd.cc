// jfs webdav META-URL ADDRESS:PORT: serves the volume over WebDAV (server/webdav) until SIGTERM or
// SIGINT, then stops taking requests, closes the volume (flushing it) and exits 0.
//
// Authentication is always on: Digest (SHA-256 and MD5) everywhere, Basic only over TLS — Basic
// sends the password in clear, so over plain HTTP it is refused unless --insecure-basic says the
// network is trusted (e.g. loopback behind a TLS proxy).
#include <CLI/CLI.hpp>

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

#include "lib/volume.h"
#include "server/http/http_server.h"
#include "server/webdav/webdav.h"
#include "tools/common.h"

namespace jfs::tools {
namespace {

struct WebDavArgs {
  std::string meta_url, address;
  std::string user, password;
  std::string tls_cert, tls_key;
  bool insecure_basic = false;
  bool read_only = false;
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

// The volume flags (tools/common.h), parsed as for the C ABI, onto the library's options.
int VolumeOptionsOf(const GlobalOptions& g, lib::VolumeOptions* vo) {
  jfs_volume_options_t c;
  jfs_volume_options_init(&c);
  if (int rc = ApplyVolumeOptions("webdav", g, &c); rc != kExitOk) return rc;
  if (c.buffer_size != 0) vo->buffer_size = c.buffer_size;
  if (c.upload_threads != 0) vo->upload_threads = c.upload_threads;
  if (c.download_threads != 0) vo->download_threads = c.download_threads;
  vo->prefetch = c.prefetch;
  vo->cache_dir = c.cache_dir != nullptr ? std::string(c.cache_dir) : DefaultCacheDir();
  vo->cache_size = c.cache_size << 20;
  vo->free_space_ratio = c.free_space_ratio;
  if (c.cache_eviction != nullptr) vo->cache_eviction = c.cache_eviction;
  if (c.verify_cache_checksum != nullptr) vo->verify_cache_checksum = c.verify_cache_checksum;
  vo->writeback = (c.flags & JFS_VOLUME_WRITEBACK) != 0;
  if (vo->writeback && vo->cache_size == 0) {
    PrintError("webdav", "--writeback needs the disk cache (--cache-size)");
    return kExitUsage;
  }
  return kExitOk;
}

int RunWebDav(const WebDavArgs& a, const GlobalOptions& g) {
  std::string user = a.user, password = a.password;
  if (user.empty() && std::getenv("JFS_WEBDAV_USER") != nullptr)
    user = std::getenv("JFS_WEBDAV_USER");
  if (password.empty() && std::getenv("JFS_WEBDAV_PASSWORD") != nullptr) {
    password = std::getenv("JFS_WEBDAV_PASSWORD");
  }
  if (user.empty() || password.empty()) {
    PrintError("webdav",
               "credentials are required: --user/--password or "
               "JFS_WEBDAV_USER/JFS_WEBDAV_PASSWORD");
    return kExitUsage;
  }
  if (user.find(':') != std::string::npos || user.find('"') != std::string::npos) {
    PrintError("webdav", "the user name may not contain ':' or '\"'");
    return kExitUsage;
  }
  server::http::ServerOptions so;
  if (!server::http::ParseListenAddress(a.address, &so.address, &so.port)) {
    PrintError("webdav", "bad address '" + a.address + "' (expected HOST:PORT)");
    return kExitUsage;
  }
  so.idle_timeout_seconds = a.timeout;
  if (!a.tls_cert.empty() || !a.tls_key.empty()) {
    if (a.tls_cert.empty() || a.tls_key.empty()) {
      PrintError("webdav", "--tls-cert and --tls-key go together");
      return kExitUsage;
    }
    if (!ReadWhole(a.tls_cert, &so.tls_cert_pem) || !ReadWhole(a.tls_key, &so.tls_key_pem)) {
      PrintError("webdav", "cannot read the TLS certificate or key");
      return kExitError;
    }
  }
  lib::VolumeOptions vo;
  if (int rc = VolumeOptionsOf(g, &vo); rc != kExitOk) return rc;
  vo.mount_point = "webdav:" + a.address;
  vo.read_only = a.read_only;

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
    PrintError("webdav", "cannot open volume " + a.meta_url + ": " + s.ToString());
    return kExitError;
  }
  server::webdav::WebDavOptions wo;
  wo.auth.user = user;
  wo.auth.password = password;
  wo.auth.allow_basic = !so.tls_cert_pem.empty() || a.insecure_basic;
  server::webdav::WebDav dav(volume.get(), wo);
  if (!a.read_only) {
    s = dav.Init();
    if (!s.ok()) {
      PrintError("webdav", "cannot prepare the volume: " + s.ToString());
      return kExitError;
    }
  }
  std::unique_ptr<server::http::Server> srv;
  s = server::http::Server::Start(
      so, [&dav](const server::http::Request& r) { return dav.NewHandler(r); }, &srv);
  if (!s.ok()) {
    PrintError("webdav", s.ToString());
    return kExitError;
  }
  std::cerr << "jfs webdav: serving volume " << volume->format().name << " on "
            << (so.tls_cert_pem.empty() ? "http" : "https") << "://" << so.address << ":"
            << srv->port() << " (auth: Digest" << (wo.auth.allow_basic ? ", Basic" : "") << ")"
            << std::endl;
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
    PrintError("webdav", "closing the volume: " + s.ToString());
    return kExitError;
  }
  return kExitOk;
}

}  // namespace

void AddWebDavCommand(CLI::App& app, const GlobalOptions& global, Action* action) {
  auto args = std::make_shared<WebDavArgs>();
  CLI::App* cmd = app.add_subcommand("webdav", "serve the volume over WebDAV");
  cmd->add_option("META-URL", args->meta_url, "META-URL of the volume")->required();
  cmd->add_option("ADDRESS", args->address, "HOST:PORT to listen on (e.g. 127.0.0.1:9007)")
      ->required();
  cmd->add_option("--user", args->user, "user name of the clients (default $JFS_WEBDAV_USER)");
  cmd->add_option("--password", args->password,
                  "password of the clients (default $JFS_WEBDAV_PASSWORD)");
  cmd->add_option("--tls-cert", args->tls_cert, "PEM certificate: serve HTTPS");
  cmd->add_option("--tls-key", args->tls_key, "PEM private key of --tls-cert");
  cmd->add_flag("--insecure-basic", args->insecure_basic,
                "accept Basic authentication over plain HTTP (default: Digest only without TLS)");
  cmd->add_flag("--read-only", args->read_only, "open the volume read-only");
  cmd->add_option("--timeout", args->timeout, "seconds before an idle connection is closed")
      ->default_val(60);
  cmd->add_option("--port-file", args->port_file,
                  "write the port being served to this file once ready (with port 0)");
  cmd->callback(
      [args, &global, action] { *action = [args, &global] { return RunWebDav(*args, global); }; });
}

}  // namespace jfs::tools
