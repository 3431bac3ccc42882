#include "consensus/abci_server.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "consensus/abci_app.h"

namespace lucid::consensus {

namespace {

// Buffered reads of one connection.
class Reader {
 public:
  explicit Reader(int fd) : fd_(fd) {}
  // 1: got n bytes; 0: clean EOF before any byte; -1: error or EOF mid-way.
  int Read(uint8_t* out, size_t n) {
    size_t got = 0;
    while (got < n) {
      if (pos_ == len_) {
        ssize_t r = ::recv(fd_, buf_, sizeof(buf_), 0);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return got == 0 && r == 0 ? 0 : -1;
        pos_ = 0;
        len_ = static_cast<size_t>(r);
      }
      const size_t take = std::min(n - got, len_ - pos_);
      std::memcpy(out + got, buf_ + pos_, take);
      pos_ += take;
      got += take;
    }
    return 1;
  }
  bool buffered() const { return pos_ < len_; }

 private:
  int fd_;
  uint8_t buf_[64 * 1024];
  size_t pos_ = 0, len_ = 0;
};

bool WriteAll(int fd, const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t w = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    off += static_cast<size_t>(w);
  }
  return true;
}

}  // namespace

void AppendDelimited(const std::string& message, std::string& out) {
  uint64_t v = message.size();
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
  out.append(message);
}

AbciServer::AbciServer(AbciApp* app, AbciServerOptions options) : app_(app), options_(std::move(options)) {
  log_ = [](const std::string& line) { std::fprintf(stderr, "abci: %s\n", line.c_str()); };
}

AbciServer::~AbciServer() { Stop(); }

Result<int> AbciServer::Start() {
  if (listen_fd_ >= 0) return FailedPrecondition("AbciServer: already started");
  const std::string& addr = options_.address;
  int port = 0;
  if (addr.rfind("unix://", 0) == 0) {
    unix_path_ = addr.substr(7);
    sockaddr_un sa{};
    if (unix_path_.empty() || unix_path_.size() >= sizeof(sa.sun_path))
      return InvalidArgument("ABCI unix socket path is empty or too long: " + unix_path_);
    std::error_code ec;
    std::filesystem::remove(unix_path_, ec);  // a stale socket of an earlier run
    listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (listen_fd_ < 0) return Unavailable(std::string("socket: ") + std::strerror(errno));
    sa.sun_family = AF_UNIX;
    std::memcpy(sa.sun_path, unix_path_.data(), unix_path_.size());
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0) {
      Status s = Unavailable("bind " + addr + ": " + std::strerror(errno));
      ::close(listen_fd_);
      listen_fd_ = -1;
      return s;
    }
    ::chmod(unix_path_.c_str(), 0600);  // ABCI is unauthenticated: only this user may connect
  } else if (addr.rfind("tcp://", 0) == 0) {
    const std::string hp = addr.substr(6);
    const size_t colon = hp.rfind(':');
    if (colon == std::string::npos) return InvalidArgument("ABCI address must be tcp://HOST:PORT: " + addr);
    const std::string host = hp.substr(0, colon);
    try {
      port = std::stoi(hp.substr(colon + 1));
    } catch (const std::exception&) {
      return InvalidArgument("ABCI address has a bad port: " + addr);
    }
    if (port < 0 || port > 65535) return InvalidArgument("ABCI address has a bad port: " + addr);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(static_cast<uint16_t>(port));
    if (::inet_pton(AF_INET, host.c_str(), &sa.sin_addr) != 1)
      return InvalidArgument("ABCI address needs an IPv4 host: " + addr);
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (listen_fd_ < 0) return Unavailable(std::string("socket: ") + std::strerror(errno));
    int one = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0) {
      Status s = Unavailable("bind " + addr + ": " + std::strerror(errno));
      ::close(listen_fd_);
      listen_fd_ = -1;
      return s;
    }
    socklen_t len = sizeof(sa);
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&sa), &len);
    port = ntohs(sa.sin_port);
  } else {
    return InvalidArgument("ABCI address must start with tcp:// or unix://: " + addr);
  }
  if (::listen(listen_fd_, 16) != 0) {
    Status s = Unavailable("listen " + addr + ": " + std::strerror(errno));
    ::close(listen_fd_);
    listen_fd_ = -1;
    return s;
  }
  stopping_ = false;
  accept_thread_ = std::thread([this] { AcceptLoop(); });
  return port;
}

void AbciServer::Stop() {
  if (listen_fd_ < 0) return;
  stopping_ = true;
  ::shutdown(listen_fd_, SHUT_RDWR);
  if (accept_thread_.joinable()) accept_thread_.join();
  ::close(listen_fd_);
  listen_fd_ = -1;
  std::vector<std::thread> threads;
  {
    std::lock_guard<std::mutex> lock(conns_mu_);
    for (int fd : conn_fds_) ::shutdown(fd, SHUT_RDWR);
    threads = std::move(conn_threads_);
  }
  for (auto& t : threads) t.join();
  if (!unix_path_.empty()) {
    std::error_code ec;
    std::filesystem::remove(unix_path_, ec);
  }
}

void AbciServer::AcceptLoop() {
  while (!stopping_) {
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (!stopping_) log_(std::string("accept: ") + std::strerror(errno));
      return;
    }
    if (unix_path_.empty()) {
      int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    ++accepted_;
    std::lock_guard<std::mutex> lock(conns_mu_);
    if (stopping_) {
      ::close(fd);
      return;
    }
    conn_fds_.push_back(fd);
    conn_threads_.emplace_back([this, fd] { Serve(fd); });
  }
}

void AbciServer::Serve(int fd) {
  Reader reader(fd);
  std::string body, out;
  abci::Request req;
  const int conn = accepted_.load();
  std::string why;
  while (!stopping_) {
    // uvarint length (at most 10 bytes).
    uint64_t len = 0;
    int shift = 0;
    bool done = false;
    int rc = 1;
    for (int i = 0; i < 10; ++i) {
      uint8_t b = 0;
      rc = reader.Read(&b, 1);
      if (rc != 1) break;
      len |= static_cast<uint64_t>(b & 0x7f) << shift;
      shift += 7;
      if ((b & 0x80) == 0) {
        done = true;
        break;
      }
    }
    if (rc == 0) break;  // peer closed between frames
    if (rc < 0) {
      why = "connection closed mid-frame";
      break;
    }
    if (!done) {
      why = "malformed frame: bad length varint";
      break;
    }
    if (len > options_.max_frame_bytes) {
      why = "malformed frame: " + std::to_string(len) + " bytes is over the limit of " +
            std::to_string(options_.max_frame_bytes);
      break;
    }
    body.resize(len);
    if (len > 0 && reader.Read(reinterpret_cast<uint8_t*>(body.data()), len) != 1) {
      why = "connection closed mid-frame";
      break;
    }
    if (!req.ParseFromString(body)) {
      why = "malformed frame: not a tendermint.abci.Request (" + std::to_string(len) + " bytes)";
      break;
    }
    abci::Response res = app_->Handle(req);
    AppendDelimited(res.SerializeAsString(), out);
    // Batch responses while more requests are already buffered (CometBFT pipelines them and
    // sends Flush when it waits); always write out a flush answer.
    if (!reader.buffered() || req.has_flush() || out.size() > (1u << 20)) {
      if (!WriteAll(fd, out)) {
        why = "write failed";
        break;
      }
      out.clear();
    }
  }
  if (!out.empty()) (void)WriteAll(fd, out);
  if (!why.empty() && !stopping_) log_("connection " + std::to_string(conn) + " closed: " + why);
  std::lock_guard<std::mutex> lock(conns_mu_);
  for (size_t i = 0; i < conn_fds_.size(); ++i)
    if (conn_fds_[i] == fd) {
      conn_fds_.erase(conn_fds_.begin() + static_cast<std::ptrdiff_t>(i));
      break;
    }
  ::close(fd);
}

}  // namespace lucid::consensus
