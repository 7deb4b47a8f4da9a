// What `jfs gateway` and `jfs webdav` share: listening options, the volume flags turned into the
// library's options, and serving over server/http until SIGTERM or SIGINT.
#pragma once

#include <csignal>
#include <functional>
#include <memory>
#include <string>

#include "juicefs/juicefs.h"
#include "server/http/http_server.h"

namespace CLI {
class App;
}

namespace jfs::lib {
class Volume;
struct VolumeOptions;
}  // namespace jfs::lib

namespace jfs::tools {

// The options every server command takes besides its own.
struct ServeArgs {
  std::string meta_url, address;
  std::string tls_cert, tls_key;
  unsigned timeout = 60;
  std::string port_file;  // written with the bound port once serving (tests pick port 0)
};

// Adds META-URL, ADDRESS (`example` e.g. "127.0.0.1:9000"), --tls-cert/--tls-key, --timeout and
// --port-file to `cmd`, bound to *a (which must outlive the parse).
void AddServeOptions(CLI::App* cmd, ServeArgs* a, const std::string& example);

// Listen address, idle timeout and TLS material of `a` into *so. Returns kExitOk, or prints why
// (as `cmd`) and returns kExitUsage / kExitError.
int ServerOptionsOf(const char* cmd, const ServeArgs& a, server::http::ServerOptions* so);

// The volume flags, parsed as for the C ABI into `c` (ApplyVolumeOptions), onto the library's
// options, for the commands that open lib::Volume themselves (mount, webdav). Defaults follow
// `jfs mount`: the disk cache in DefaultCacheDir(). false and *err on a bad combination.
bool ToLibVolumeOptions(const jfs_volume_options_t& c, lib::VolumeOptions* vo, std::string* err);

// Blocks SIGTERM and SIGINT in the calling thread (call before any thread starts, so no server
// thread receives them; Serve takes them with sigwait) and ignores SIGPIPE. *stop = the set.
void BlockStopSignals(sigset_t* stop);

// Starts the HTTP server with `factory`, prints "jfs CMD: serving volume NAME on URL<suffix>",
// writes a.port_file, waits for a signal of `stop`, stops the server and closes the volume.
// Returns the exit code (kExitError when the server cannot start or the volume fails to close).
int Serve(const char* cmd, const ServeArgs& a, const server::http::ServerOptions& so,
          server::http::HandlerFactory factory, lib::Volume& volume, const sigset_t& stop,
          const std::string& banner_suffix);

}  // namespace jfs::tools
