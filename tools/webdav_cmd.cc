// jfs webdav META-URL ADDRESS:PORT: serves the volume over WebDAV (server/webdav) until SIGTERM or
// SIGINT, then stops taking requests, closes the volume (flushing it) and exits 0.
//
// Authentication is always on: Digest (SHA-256 and MD5) everywhere, Basic only over TLS — Basic
// sends the password in clear, so over plain HTTP it is refused unless --insecure-basic says the
// network is trusted (e.g. loopback behind a TLS proxy).
#include <CLI/CLI.hpp>

#include <cstdlib>

#include "lib/volume.h"
#include "server/http/http_server.h"
#include "server/webdav/webdav.h"
#include "tools/common.h"
#include "tools/serve.h"

namespace jfs::tools {
namespace {

struct WebDavArgs : ServeArgs {
  std::string user, password;
  bool insecure_basic = false;
  bool read_only = false;
};

// The volume flags (tools/common.h), parsed as for the C ABI, onto the library's options.
int VolumeOptionsOf(const GlobalOptions& g, lib::VolumeOptions* vo) {
  jfs_volume_options_t c;
  jfs_volume_options_init(&c);
  if (int rc = ApplyVolumeOptions("webdav", g, &c); rc != kExitOk) return rc;
  std::string err;
  if (!ToLibVolumeOptions(c, vo, &err)) {
    PrintError("webdav", err);
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
  if (int rc = ServerOptionsOf("webdav", a, &so); rc != kExitOk) return rc;
  lib::VolumeOptions vo;
  if (int rc = VolumeOptionsOf(g, &vo); rc != kExitOk) return rc;
  vo.mount_point = "webdav:" + a.address;
  vo.read_only = a.read_only;

  sigset_t stop;
  BlockStopSignals(&stop);

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
  return Serve(
      "webdav", a, so, [&dav](const server::http::Request& r) { return dav.NewHandler(r); },
      *volume, stop, std::string(" (auth: Digest") + (wo.auth.allow_basic ? ", Basic)" : ")"));
}

}  // namespace

void AddWebDavCommand(CLI::App& app, const GlobalOptions& global, Action* action) {
  auto args = std::make_shared<WebDavArgs>();
  CLI::App* cmd = app.add_subcommand("webdav", "serve the volume over WebDAV");
  AddServeOptions(cmd, args.get(), "127.0.0.1:9007");
  cmd->add_option("--user", args->user, "user name of the clients (default $JFS_WEBDAV_USER)");
  cmd->add_option("--password", args->password,
                  "password of the clients (default $JFS_WEBDAV_PASSWORD)");
  cmd->add_flag("--insecure-basic", args->insecure_basic,
                "accept Basic authentication over plain HTTP (default: Digest only without TLS)");
  cmd->add_flag("--read-only", args->read_only, "open the volume read-only");
  cmd->callback(
      [args, &global, action] { *action = [args, &global] { return RunWebDav(*args, global); }; });
}

}  // namespace jfs::tools
