#include "tools/serve.h"

#include <CLI/CLI.hpp>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "lib/volume.h"
#include "tools/common.h"

namespace jfs::tools {
namespace {

bool ReadWhole(const std::string& path, std::string* out) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return false;
  std::ostringstream ss;
  ss << f.rdbuf();
  *out = ss.str();
  return static_cast<bool>(f) || f.eof();
}

}  // namespace

void AddServeOptions(CLI::App* cmd, ServeArgs* a, const std::string& example) {
  cmd->add_option("META-URL", a->meta_url, "META-URL of the volume")->required();
  cmd->add_option("ADDRESS", a->address, "HOST:PORT to listen on (e.g. " + example + ")")
      ->required();
  cmd->add_option("--tls-cert", a->tls_cert, "PEM certificate: serve HTTPS");
  cmd->add_option("--tls-key", a->tls_key, "PEM private key of --tls-cert");
  cmd->add_option("--timeout", a->timeout, "seconds before an idle connection is closed")
      ->default_val(60);
  cmd->add_option("--port-file", a->port_file,
                  "write the port being served to this file once ready (with port 0)");
}

int ServerOptionsOf(const char* cmd, const ServeArgs& a, server::http::ServerOptions* so) {
  if (!server::http::ParseListenAddress(a.address, &so->address, &so->port)) {
    PrintError(cmd, "bad address '" + a.address + "' (expected HOST:PORT)");
    return kExitUsage;
  }
  so->idle_timeout_seconds = a.timeout;
  if (!a.tls_cert.empty() || !a.tls_key.empty()) {
    if (a.tls_cert.empty() || a.tls_key.empty()) {
      PrintError(cmd, "--tls-cert and --tls-key go together");
      return kExitUsage;
    }
    if (!ReadWhole(a.tls_cert, &so->tls_cert_pem) || !ReadWhole(a.tls_key, &so->tls_key_pem)) {
      PrintError(cmd, "cannot read the TLS certificate or key");
      return kExitError;
    }
  }
  return kExitOk;
}

bool ToLibVolumeOptions(const jfs_volume_options_t& c, lib::VolumeOptions* vo, std::string* err) {
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
  vo->cache_large_write = (c.flags & JFS_VOLUME_CACHE_LARGE_WRITE) != 0;
  if (vo->writeback && vo->cache_size == 0) {
    *err = "--writeback needs the disk cache (--cache-size)";
    return false;
  }
  return true;
}

void BlockStopSignals(sigset_t* stop) {
  sigemptyset(stop);
  sigaddset(stop, SIGTERM);
  sigaddset(stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, stop, nullptr);
  (void)signal(SIGPIPE, SIG_IGN);
}

int Serve(const char* cmd, const ServeArgs& a, const server::http::ServerOptions& so,
          server::http::HandlerFactory factory, lib::Volume& volume, const sigset_t& stop,
          const std::string& banner_suffix) {
  std::unique_ptr<server::http::Server> srv;
  Status s = server::http::Server::Start(so, std::move(factory), &srv);
  if (!s.ok()) {
    PrintError(cmd, s.ToString());
    (void)volume.Close();
    return kExitError;
  }
  std::cerr << "jfs " << cmd << ": serving volume " << volume.format().name << " on "
            << (so.tls_cert_pem.empty() ? "http" : "https") << "://" << so.address << ":"
            << srv->port() << banner_suffix << std::endl;
  if (!a.port_file.empty()) {
    std::ofstream pf(a.port_file + ".tmp");
    pf << srv->port() << "\n";
    pf.close();
    std::rename((a.port_file + ".tmp").c_str(), a.port_file.c_str());
  }
  int sig = 0;
  sigwait(&stop, &sig);
  srv->Stop();
  s = volume.Close();
  if (!s.ok()) {
    PrintError(cmd, "closing the volume: " + s.ToString());
    return kExitError;
  }
  return kExitOk;
}

}  // namespace jfs::tools
