#include "meta/redis/redis_client.h"

#include <sys/time.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <thread>
#include <utility>

#include "util/percent.h"

namespace jfs::meta::redis {

namespace {

constexpr size_t kMaxIdle = 16;
std::atomic<uint64_t> g_round_trips{0};

bool ParseInt(std::string_view s, int lo, int hi, int* out) {
  if (s.empty() || s.size() > 9) return false;
  int v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  if (v < lo || v > hi) return false;
  *out = v;
  return true;
}

bool StartsWith(std::string_view s, std::string_view p) {
  return s.substr(0, p.size()) == p;
}

// "MOVED 3999 127.0.0.1:6381" → host, port.
bool ParseRedirect(std::string_view msg, std::string* host, int* port) {
  size_t sp = msg.rfind(' ');
  if (sp == std::string_view::npos) return false;
  std::string_view addr = msg.substr(sp + 1);
  size_t colon = addr.rfind(':');
  if (colon == std::string_view::npos) return false;
  if (!ParseInt(addr.substr(colon + 1), 1, 65535, port)) return false;
  *host = std::string(addr.substr(0, colon));
  return true;
}

}  // namespace

Status ParseRedisUrl(const std::string& url, RedisUrl* out) {
  RedisUrl u;
  auto bad = [&](const std::string& why) {
    return Status::Invalid("bad Redis URL '" + url + "': " + why +
                           " (redis://[user:password@]host[:port][/db] or "
                           "unix:///path/redis.sock[?db=N])");
  };
  const size_t sep = url.find("://");
  if (sep == std::string::npos) return bad("no scheme");
  const std::string scheme = url.substr(0, sep);
  std::string rest = url.substr(sep + 3);
  std::string query;
  if (size_t q = rest.find('?'); q != std::string::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  if (scheme == "rediss") return Status::NotSupported("rediss:// (TLS) is not supported: " + url);
  std::string userinfo;
  if (size_t at = rest.rfind('@'); at != std::string::npos) {
    userinfo = rest.substr(0, at);
    rest = rest.substr(at + 1);
  }
  if (scheme == "redis") {
    std::string hostport = rest, path;
    if (size_t slash = rest.find('/'); slash != std::string::npos) {
      hostport = rest.substr(0, slash);
      path = rest.substr(slash + 1);
    }
    if (hostport.find(',') != std::string::npos) {
      return Status::NotSupported("Redis Sentinel addresses are not supported: " + url);
    }
    if (!path.empty() && !ParseInt(path, 0, 1 << 20, &u.db)) return bad("database is not a number");
    if (!hostport.empty()) {
      size_t colon = hostport.rfind(':');
      if (hostport[0] == '[') {  // [v6]:port
        size_t close = hostport.find(']');
        if (close == std::string::npos) return bad("unclosed '['");
        u.host = hostport.substr(1, close - 1);
        if (close + 1 < hostport.size()) {
          if (hostport[close + 1] != ':' ||
              !ParseInt(hostport.substr(close + 2), 1, 65535, &u.port)) {
            return bad("bad port");
          }
        }
      } else if (colon != std::string::npos) {
        u.host = hostport.substr(0, colon);
        if (!ParseInt(hostport.substr(colon + 1), 1, 65535, &u.port)) return bad("bad port");
      } else {
        u.host = hostport;
      }
      if (u.host.empty()) u.host = "127.0.0.1";
    }
  } else if (scheme == "unix") {
    u.unix_path = rest;
    if (u.unix_path.empty() || u.unix_path[0] != '/') return bad("socket path must be absolute");
  } else {
    return bad("scheme must be redis or unix");
  }
  // Query: db=N (unix sockets); other parameters are accepted and ignored.
  size_t pos = 0;
  while (pos < query.size()) {
    size_t amp = query.find('&', pos);
    std::string kv = query.substr(pos, amp == std::string::npos ? std::string::npos : amp - pos);
    pos = amp == std::string::npos ? query.size() : amp + 1;
    if (StartsWith(kv, "db=") && !ParseInt(kv.substr(3), 0, 1 << 20, &u.db)) {
      return bad("db is not a number");
    }
  }
  if (!userinfo.empty()) {
    size_t colon = userinfo.find(':');
    std::string user = userinfo.substr(0, colon);
    std::string pass = colon == std::string::npos ? std::string() : userinfo.substr(colon + 1);
    if (!PercentDecode(user, &u.user) || !PercentDecode(pass, &u.password)) {
      return bad("bad %-escape in the credentials");
    }
  }
  if (u.password.empty()) {
    for (const char* var : {"REDIS_PASSWORD", "META_PASSWORD"}) {
      const char* v = std::getenv(var);
      if (v && *v) {
        u.password = v;
        break;
      }
    }
  }
  u.display =
      scheme + "://" +
      (u.unix_path.empty() ? u.host + ":" + std::to_string(u.port) + "/" + std::to_string(u.db)
                           : u.unix_path + "?db=" + std::to_string(u.db));
  *out = std::move(u);
  return Status::OK();
}

uint64_t RoundTrips() {
  return g_round_trips.load(std::memory_order_relaxed);
}

uint16_t KeySlot(std::string_view key) {
  if (size_t open = key.find('{'); open != std::string_view::npos) {
    size_t close = key.find('}', open + 1);
    if (close != std::string_view::npos && close > open + 1) {
      key = key.substr(open + 1, close - open - 1);
    }
  }
  uint16_t crc = 0;
  for (unsigned char c : key) {
    crc ^= static_cast<uint16_t>(c) << 8;
    for (int i = 0; i < 8; ++i) {
      crc = (crc & 0x8000) ? static_cast<uint16_t>((crc << 1) ^ 0x1021)
                           : static_cast<uint16_t>(crc << 1);
    }
  }
  return crc & 16383;
}

Redirect RedirectOf(const redisReply* r) {
  if (!r || r->type != REDIS_REPLY_ERROR) return Redirect::kNone;
  std::string_view msg(r->str, r->len);
  if (StartsWith(msg, "ASK ")) return Redirect::kAsk;
  if (StartsWith(msg, "MOVED ")) return Redirect::kMoved;
  for (const char* p : {"TRYAGAIN", "CLUSTERDOWN", "LOADING", "READONLY", "MASTERDOWN"}) {
    if (StartsWith(msg, p)) return Redirect::kUnstable;
  }
  return Redirect::kNone;
}

bool RedirectTarget(const redisReply* r, std::string* host, int* port) {
  const Redirect k = RedirectOf(r);
  if (k != Redirect::kAsk && k != Redirect::kMoved) return false;
  return ParseRedirect(std::string_view(r->str, r->len), host, port);
}

Status ReplyStatus(const redisReply* r, std::string_view what) {
  if (!r) return Status::Retryable(EIO, std::string(what) + ": no reply from Redis");
  if (r->type != REDIS_REPLY_ERROR) return Status::OK();
  std::string msg(r->str, r->len);
  std::string text = std::string(what) + ": Redis: " + msg;
  if (StartsWith(msg, "OOM")) return Status::Error(ENOSPC, text);
  if (StartsWith(msg, "NOAUTH") || StartsWith(msg, "WRONGPASS") ||
      msg.find("invalid password") != std::string::npos ||
      msg.find("invalid username-password") != std::string::npos) {
    return Status::Error(EACCES, text);
  }
  for (const char* p :
       {"MOVED", "ASK", "TRYAGAIN", "CLUSTERDOWN", "LOADING", "READONLY", "MASTERDOWN"}) {
    if (StartsWith(msg, p)) return Status::Retryable(EIO, text);
  }
  if (StartsWith(msg, "WRONGTYPE")) {
    return Status::IOError(text + " (a key has an unexpected type: is this a JuiceFS database?)");
  }
  return Status::IOError(text);
}

Status Conn::Call(const Cmd& cmd, Reply* reply) {
  std::vector<Reply> replies;
  JFS_RETURN_IF_ERROR(Pipeline({cmd}, &replies));
  *reply = std::move(replies[0]);
  return Status::OK();
}

Status Conn::Pipeline(const std::vector<Cmd>& cmds, std::vector<Reply>* replies) {
  replies->clear();
  if (broken_) return Status::Retryable(EIO, "Redis connection to " + addr_ + " is broken");
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  g_round_trips.fetch_add(1, std::memory_order_relaxed);
  const bool unwatch = unwatch_pending;
  if (unwatch && redisAppendCommand(ctx_.get(), "UNWATCH") != REDIS_OK) {
    broken_ = true;
    return Status::Retryable(EIO, "Redis " + addr_ + ": " + ctx_->errstr);
  }
  for (const Cmd& c : cmds) {
    argv.clear();
    lens.clear();
    for (const std::string& a : c) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    if (redisAppendCommandArgv(ctx_.get(), static_cast<int>(argv.size()), argv.data(),
                               lens.data()) != REDIS_OK) {
      broken_ = true;
      return Status::Retryable(EIO, "Redis " + addr_ + ": " + ctx_->errstr);
    }
  }
  for (size_t i = 0; i < cmds.size() + (unwatch ? 1 : 0); ++i) {
    void* r = nullptr;
    if (redisGetReply(ctx_.get(), &r) != REDIS_OK || !r) {
      broken_ = true;
      std::string err = ctx_->err ? ctx_->errstr : "connection closed";
      return Status::Retryable(EIO, "Redis " + addr_ + ": " + err);
    }
    if (unwatch && i == 0) {
      freeReplyObject(r);  // UNWATCH always answers OK
      unwatch_pending = false;
      continue;
    }
    replies->emplace_back(static_cast<redisReply*>(r));
  }
  return Status::OK();
}

// ---- flat replies ----

namespace {

// hiredis reader callbacks building a FlatReply (task->privdata): every object they return is
// the FlatReply itself (never freed by hiredis: freeObject does nothing, the caller owns it).
FlatReply* FlatOf(const redisReadTask* task) {
  return static_cast<FlatReply*>(task->privdata);
}

// Depth of a task: 0 for the top-level reply, 1 for an element of a top-level array.
int Depth(const redisReadTask* task) {
  int d = 0;
  for (const redisReadTask* t = task->parent; t; t = t->parent) ++d;
  return d;
}

void FlatItem(FlatReply* f, int type, std::string_view bytes) {
  f->items.push_back(FlatReply::Item{f->data.size(), bytes.size(), type});
  f->data.append(bytes);
}

void* FlatString(const redisReadTask* task, char* str, size_t len) {
  FlatReply* f = FlatOf(task);
  const int d = Depth(task);
  if (d == 0) {
    f->type = task->type;
    f->data.assign(str, len);
  } else if (d == 1) {
    FlatItem(f, task->type, std::string_view(str, len));
  }
  return f;
}

void* FlatArray(const redisReadTask* task, int elements) {
  FlatReply* f = FlatOf(task);
  if (Depth(task) == 0) {
    f->type = REDIS_REPLY_ARRAY;
    if (elements > 0) f->items.reserve(static_cast<size_t>(elements));
  } else {
    f->nested = true;
    if (Depth(task) == 1) FlatItem(f, REDIS_REPLY_ARRAY, {});
  }
  return f;
}

void* FlatInteger(const redisReadTask* task, long long v) {
  FlatReply* f = FlatOf(task);
  const int d = Depth(task);
  if (d == 0) {
    f->type = REDIS_REPLY_INTEGER;
    f->integer = v;
  } else if (d == 1) {
    FlatItem(f, REDIS_REPLY_INTEGER, std::to_string(v));
  }
  return f;
}

void* FlatNil(const redisReadTask* task) {
  FlatReply* f = FlatOf(task);
  const int d = Depth(task);
  if (d == 0) {
    f->type = REDIS_REPLY_NIL;
  } else if (d == 1) {
    FlatItem(f, REDIS_REPLY_NIL, {});
  }
  return f;
}

void FlatFree(void*) {}

redisReplyObjectFunctions g_flat_functions = {FlatString, FlatArray, FlatInteger, FlatNil,
                                              FlatFree};

void AppendDecimal(std::string* out, uint64_t n) {
  char buf[20];
  size_t i = sizeof buf;
  do {
    buf[--i] = static_cast<char>('0' + n % 10);
    n /= 10;
  } while (n);
  out->append(buf + i, sizeof buf - i);
}

size_t DecimalLength(uint64_t n) {
  size_t len = 1;
  while (n >= 10) {
    n /= 10;
    ++len;
  }
  return len;
}

}  // namespace

RawCmd::RawCmd(size_t argc) {
  buf_.push_back('*');
  AppendDecimal(&buf_, argc);
  buf_.append("\r\n");
}

RawCmd& RawCmd::Arg(std::string_view a) {
  buf_.push_back('$');
  AppendDecimal(&buf_, a.size());
  buf_.append("\r\n");
  buf_.append(a);
  buf_.append("\r\n");
  return *this;
}

RawCmd& RawCmd::Arg(std::string_view prefix, uint64_t n) {
  buf_.push_back('$');
  AppendDecimal(&buf_, prefix.size() + DecimalLength(n));
  buf_.append("\r\n");
  buf_.append(prefix);
  AppendDecimal(&buf_, n);
  buf_.append("\r\n");
  return *this;
}

Status Conn::PipelineFlat(const std::vector<const RawCmd*>& cmds, std::vector<FlatReply>* replies) {
  if (broken_) return Status::Retryable(EIO, "Redis connection to " + addr_ + " is broken");
  replies->resize(cmds.size());
  g_round_trips.fetch_add(1, std::memory_order_relaxed);
  redisContext* c = ctx_.get();
  auto fail = [&](const char* what) {
    broken_ = true;
    std::string err = c->err ? c->errstr : what;
    return Status::Retryable(EIO, "Redis " + addr_ + ": " + err);
  };
  const bool unwatch = unwatch_pending;
  if (unwatch && redisAppendCommand(c, "UNWATCH") != REDIS_OK) return fail("append");
  for (const RawCmd* cmd : cmds) {
    if (redisAppendFormattedCommand(c, cmd->data().data(), cmd->data().size()) != REDIS_OK) {
      return fail("append");
    }
  }
  if (unwatch) {
    void* r = nullptr;
    if (redisGetReply(c, &r) != REDIS_OK || !r) return fail("connection closed");
    freeReplyObject(r);  // UNWATCH always answers OK
    unwatch_pending = false;
  }
  // Keep the reader's buffer between replies up to this size (hiredis frees one above 16 KiB
  // each time it empties, so every big reply would grow a new one).
  c->reader->maxbuf = std::max<size_t>(c->reader->maxbuf, 256 * 1024);
  redisReplyObjectFunctions* const defaults = c->reader->fn;
  for (FlatReply& f : *replies) {
    f.Clear();
    c->reader->fn = &g_flat_functions;
    c->reader->privdata = &f;
    void* r = nullptr;
    const int rc = redisGetReply(c, &r);
    // A failure may leave the half-built reply in the reader; it is ours, not a redisReply.
    c->reader->reply = nullptr;
    c->reader->fn = defaults;
    c->reader->privdata = nullptr;
    if (rc != REDIS_OK || r != &f) return fail("connection closed");
  }
  return Status::OK();
}

RedisClient::~RedisClient() = default;

Status RedisClient::Connect(const std::string& host, int port, std::unique_ptr<Conn>* out) {
  timeval tv{5, 0};
  redisContext* raw = url_.unix_path.empty()
                          ? redisConnectWithTimeout(host.c_str(), port, tv)
                          : redisConnectUnixWithTimeout(url_.unix_path.c_str(), tv);
  std::unique_ptr<redisContext, Conn::CtxDeleter> ctx(raw);
  std::string addr = url_.unix_path.empty() ? host + ":" + std::to_string(port) : url_.unix_path;
  if (!ctx) return Status::Retryable(EIO, "cannot allocate a Redis context");
  if (ctx->err)
    return Status::Retryable(EIO, "cannot connect to Redis " + addr + ": " + ctx->errstr);
  timeval cmd_tv{30, 0};  // a hung server becomes an error instead of a hang
  redisSetTimeout(ctx.get(), cmd_tv);
  auto conn = std::make_unique<Conn>(std::move(ctx), addr);
  std::vector<Cmd> init;
  if (!url_.password.empty()) {
    if (url_.user.empty()) {
      init.push_back({"AUTH", url_.password});
    } else {
      init.push_back({"AUTH", url_.user, url_.password});
    }
  }
  if (!cluster_ && url_.db != 0) init.push_back({"SELECT", std::to_string(url_.db)});
  if (!init.empty()) {
    std::vector<Reply> replies;
    JFS_RETURN_IF_ERROR(conn->Pipeline(init, &replies));
    for (size_t i = 0; i < replies.size(); ++i) {
      Status rs = ReplyStatus(replies[i].get(), "Redis " + url_.display + " " + init[i][0]);
      // Any refused AUTH (wrong password, or a password for a server that has none) is EACCES.
      if (!rs.ok() && init[i][0] == "AUTH") return Status::Error(EACCES, rs.message());
      JFS_RETURN_IF_ERROR(rs);
    }
  }
  *out = std::move(conn);
  return Status::OK();
}

Status RedisClient::Open(const RedisUrl& url, std::unique_ptr<RedisClient>* out) {
  std::unique_ptr<RedisClient> c(new RedisClient(url));
  c->host_ = url.host;
  c->port_ = url.port;
  c->nodes_.emplace_back(url.host, url.port);
  std::unique_ptr<Conn> conn;
  // Probe without SELECT first (SELECT fails on a cluster); cluster_ is false here, so db 0 is
  // skipped by pretending db=0 for the probe.
  const int db = c->url_.db;
  c->url_.db = 0;
  Status st = c->Connect(url.host, url.port, &conn);
  c->url_.db = db;
  JFS_RETURN_IF_ERROR(st);
  Reply info;
  JFS_RETURN_IF_ERROR(conn->Call({"CLUSTER", "INFO"}, &info));
  c->cluster_ = info->type != REDIS_REPLY_ERROR;
  if (!c->cluster_) {
    // Standalone servers answer "ERR This instance has cluster support disabled"; anything else
    // (NOAUTH without a password, ...) is an error of its own.
    std::string_view msg(info->str, info->len);
    if (msg.find("cluster support disabled") == std::string_view::npos) {
      Status rs = ReplyStatus(info.get(), "Redis " + url.display);
      if (StartsWith(msg, "NOAUTH")) {
        return Status::Error(EACCES, rs.message() +
                                         " (set the password in the URL, "
                                         "REDIS_PASSWORD or META_PASSWORD)");
      }
      return rs;
    }
  }
  if (c->cluster_) {
    c->prefix_ = "{" + std::to_string(db) + "}";
    c->slot_ = KeySlot(c->prefix_);
    JFS_RETURN_IF_ERROR(c->RefreshTopology());
  } else if (db != 0) {
    Reply r;
    JFS_RETURN_IF_ERROR(conn->Call({"SELECT", std::to_string(db)}, &r));
    JFS_RETURN_IF_ERROR(ReplyStatus(r.get(), "Redis " + url.display));
    c->Release(std::move(conn));
  } else {
    c->Release(std::move(conn));
  }
  *out = std::move(c);
  return Status::OK();
}

Status RedisClient::RefreshTopology() {
  std::vector<std::pair<std::string, int>> nodes;
  {
    std::lock_guard<std::mutex> l(mu_);
    nodes = nodes_;
    nodes.insert(nodes.begin(), {host_, port_});
  }
  Status last = Status::Retryable(EIO, "no Redis Cluster node answered CLUSTER SLOTS");
  for (const auto& [host, port] : nodes) {
    std::unique_ptr<Conn> conn;
    Status st = Connect(host, port, &conn);
    if (!st.ok()) {
      last = st;
      continue;
    }
    Reply r;
    st = conn->Call({"CLUSTER", "SLOTS"}, &r);
    if (st.ok()) st = ReplyStatus(r.get(), "CLUSTER SLOTS");
    if (!st.ok()) {
      last = st;
      continue;
    }
    if (r->type != REDIS_REPLY_ARRAY) continue;
    std::vector<std::pair<std::string, int>> seen;
    std::string owner_host;
    int owner_port = 0;
    for (size_t i = 0; i < r->elements; ++i) {
      const redisReply* range = r->element[i];
      if (range->type != REDIS_REPLY_ARRAY || range->elements < 3) continue;
      for (size_t j = 2; j < range->elements; ++j) {
        const redisReply* node = range->element[j];
        if (node->type != REDIS_REPLY_ARRAY || node->elements < 2 ||
            node->element[0]->type != REDIS_REPLY_STRING ||
            node->element[1]->type != REDIS_REPLY_INTEGER) {
          continue;
        }
        std::string h(node->element[0]->str, node->element[0]->len);
        if (h.empty()) h = host;  // a node may report "" for "the address you reached me at"
        const int p = static_cast<int>(node->element[1]->integer);
        seen.emplace_back(h, p);
        if (j == 2 && range->element[0]->integer <= slot_ && slot_ <= range->element[1]->integer) {
          owner_host = h;
          owner_port = p;
        }
      }
    }
    if (owner_port == 0) {
      last = Status::Retryable(EIO, "Redis Cluster: no master serves slot " +
                                        std::to_string(slot_) + " (cluster down?)");
      continue;
    }
    std::lock_guard<std::mutex> l(mu_);
    if (owner_host != host_ || owner_port != port_) {
      host_ = owner_host;
      port_ = owner_port;
      ++generation_;
      idle_.clear();
    }
    for (auto& n : seen) {
      bool known = false;
      for (auto& k : nodes_) known = known || k == n;
      if (!known) nodes_.push_back(n);
    }
    return Status::OK();
  }
  return last;
}

Status RedisClient::Lease(std::unique_ptr<Conn>* out) {
  std::string host;
  int port;
  uint64_t gen;
  {
    std::lock_guard<std::mutex> l(mu_);
    while (!idle_.empty()) {
      std::unique_ptr<Conn> c = std::move(idle_.back());
      idle_.pop_back();
      if (c->generation == generation_ && !c->broken()) {
        *out = std::move(c);
        return Status::OK();
      }
    }
    host = host_, port = port_, gen = generation_;
  }
  std::unique_ptr<Conn> c;
  Status st = Connect(host, port, &c);
  if (!st.ok()) {
    // The owner may have failed over; a failed refresh shows up on the next attempt.
    if (cluster_ && st.retryable()) (void)RefreshTopology();
    return st;
  }
  c->generation = gen;
  *out = std::move(c);
  return Status::OK();
}

Status RedisClient::LeaseAt(const std::string& host, int port, std::unique_ptr<Conn>* out) {
  const std::string addr = host + ":" + std::to_string(port);
  {
    std::lock_guard<std::mutex> l(mu_);
    for (auto it = ask_idle_.begin(); it != ask_idle_.end(); ++it) {
      if ((*it)->addr() == addr) {
        *out = std::move(*it);
        ask_idle_.erase(it);
        return Status::OK();
      }
    }
  }
  std::unique_ptr<Conn> c;
  JFS_RETURN_IF_ERROR(Connect(host, port, &c));
  c->ask_target = true;
  *out = std::move(c);
  return Status::OK();
}

Status RedisClient::FollowAsk(const std::vector<Cmd>& cmds, std::vector<Reply>* replies,
                              const std::function<bool(size_t)>& may_follow) {
  // Group the ASKed commands by target node, in order.
  std::vector<std::pair<std::string, std::vector<size_t>>> groups;
  for (size_t i = 0; i < replies->size() && i < cmds.size(); ++i) {
    const redisReply* r = (*replies)[i].get();
    if (RedirectOf(r) != Redirect::kAsk || (may_follow && !may_follow(i))) continue;
    std::string host;
    int port = 0;
    if (!RedirectTarget(r, &host, &port)) continue;
    const std::string addr = host + ":" + std::to_string(port);
    auto g = std::find_if(groups.begin(), groups.end(), [&](auto& x) { return x.first == addr; });
    if (g == groups.end()) {
      groups.emplace_back(addr, std::vector<size_t>{});
      g = groups.end() - 1;
    }
    g->second.push_back(i);
  }
  for (const auto& [addr, idx] : groups) {
    const size_t colon = addr.rfind(':');
    const std::string host = addr.substr(0, colon);
    const int port = std::atoi(addr.c_str() + colon + 1);
    std::unique_ptr<Conn> conn;
    JFS_RETURN_IF_ERROR(LeaseAt(host, port, &conn));
    std::vector<Cmd> asked;
    asked.reserve(2 * idx.size());
    for (size_t i : idx) {
      asked.push_back({"ASKING"});  // one-shot: it covers the next command only
      asked.push_back(cmds[i]);
    }
    std::vector<Reply> rs;
    JFS_RETURN_IF_ERROR(conn->Pipeline(asked, &rs));
    for (size_t j = 0; j < idx.size(); ++j) {
      JFS_RETURN_IF_ERROR(ReplyStatus(rs[2 * j].get(), "Redis ASKING " + addr));
      (*replies)[idx[j]] = std::move(rs[2 * j + 1]);
    }
    Release(std::move(conn));
  }
  return Status::OK();
}

void RedisClient::Release(std::unique_ptr<Conn> conn) {
  if (!conn || conn->broken()) return;
  if (conn->dirty) {
    conn->unwatch_pending = true;
    conn->dirty = false;
  }
  std::lock_guard<std::mutex> l(mu_);
  if (conn->ask_target) {
    if (ask_idle_.size() < kMaxIdle) ask_idle_.push_back(std::move(conn));
    return;
  }
  if (conn->generation != generation_ || idle_.size() >= kMaxIdle) return;
  idle_.push_back(std::move(conn));
}

void RedisClient::NoteFailure(const Status& st, const redisReply* reply) {
  if (!cluster_) return;
  if (reply && reply->type == REDIS_REPLY_ERROR) {
    std::string_view msg(reply->str, reply->len);
    std::string host;
    int port = 0;
    if (StartsWith(msg, "MOVED") && ParseRedirect(msg, &host, &port)) {
      std::lock_guard<std::mutex> l(mu_);
      if (host != host_ || port != port_) {
        host_ = host;
        port_ = port;
        ++generation_;
        idle_.clear();
      }
      return;
    }
    if (StartsWith(msg, "CLUSTERDOWN") || StartsWith(msg, "READONLY")) (void)RefreshTopology();
    return;
  }
  if (st.retryable()) (void)RefreshTopology();
}

Status RedisClient::Run(const std::vector<Cmd>& cmds, std::vector<Reply>* replies) {
  Status st;
  for (int attempt = 0; attempt < 8; ++attempt) {
    if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(20 << (attempt / 2)));
    std::unique_ptr<Conn> conn;
    st = Lease(&conn);
    if (!st.ok()) {
      if (st.retryable()) continue;
      return st;
    }
    st = conn->Pipeline(cmds, replies);
    if (st.ok() && cluster_) st = FollowAsk(cmds, replies);
    if (!st.ok()) {
      NoteFailure(st, nullptr);
      continue;
    }
    const redisReply* redirect = nullptr;
    for (const Reply& r : *replies) {
      Status rs = ReplyStatus(r.get(), "Redis");
      if (!rs.ok() && rs.retryable()) {
        redirect = r.get();
        st = rs;
      }
    }
    if (redirect) {
      NoteFailure(st, redirect);
      Release(std::move(conn));
      continue;
    }
    Release(std::move(conn));
    return Status::OK();
  }
  return st;
}

}  // namespace jfs::meta::redis
