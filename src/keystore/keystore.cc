#include "keystore/keystore.h"

#include "protocol/dev_keys.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>
#include <openssl/crypto.h>
#include <openssl/rand.h>

namespace lucid::keystore {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

constexpr size_t kMaxKeyFileBytes = 4096;

std::string ErrnoText() { return std::strerror(errno); }

// Overwrites a buffer that held secret material.
void Wipe(std::string& s) {
  if (!s.empty()) OPENSSL_cleanse(s.data(), s.size());
}

Status WriteAll(int fd, const std::string& data, const std::string& path) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Unavailable("writing " + path + ": " + ErrnoText());
    }
    done += static_cast<size_t>(n);
  }
  return Status::Ok();
}

Status EnsureDir(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Unavailable("creating key directory " + dir + ": " + ec.message());
  // Owner only: key names are not secret, but nobody else needs to list them.
  if (::chmod(dir.c_str(), 0700) != 0) return Unavailable("chmod " + dir + ": " + ErrnoText());
  return Status::Ok();
}

}  // namespace

Status ValidateKeyName(std::string_view name) {
  bool ok = !name.empty() && name.size() <= 64;
  for (char c : name) {
    ok = ok && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-');
  }
  if (!ok) return InvalidArgument("key name \"" + std::string(name) + "\" must match [A-Za-z0-9_-]{1,64}");
  return Status::Ok();
}

Keystore::Keystore(std::string home) : dir_((fs::path(home) / "keys").string()) {}

std::string Keystore::KeyPath(std::string_view name) const {
  return (fs::path(dir_) / (std::string(name) + ".json")).string();
}

Result<KeyInfo> Keystore::New(std::string_view name) {
  RETURN_IF_ERROR(ValidateKeyName(name));
  return Store(name, crypto::PrivateKey::Generate());
}

Result<KeyInfo> Keystore::Import(std::string_view name, std::string_view secret_hex) {
  RETURN_IF_ERROR(ValidateKeyName(name));
  auto secret = FromHex(secret_hex);
  // Do not echo the input: it is a secret.
  if (!secret.ok()) return InvalidArgument("secret is not hex");
  if (secret->size() != 32) {
    OPENSSL_cleanse(secret->data(), secret->size());
    return InvalidArgument("secret must be 32 bytes (64 hex characters)");
  }
  auto key = crypto::PrivateKey::FromBytes(*secret);
  OPENSSL_cleanse(secret->data(), secret->size());
  if (!key.ok()) return InvalidArgument("secret is not a valid secp256k1 private key (zero or above the curve order)");
  return Import(name, *key);
}

Result<KeyInfo> Keystore::Import(std::string_view name, const crypto::PrivateKey& key) {
  RETURN_IF_ERROR(ValidateKeyName(name));
  return Store(name, key);
}

Result<KeyInfo> Keystore::Store(std::string_view name, const crypto::PrivateKey& key) {
  const std::string path = KeyPath(name);
  if (::access(path.c_str(), F_OK) == 0) {
    return AlreadyExists("key \"" + std::string(name) + "\" already exists (" + path + "); refusing to overwrite");
  }
  RETURN_IF_ERROR(EnsureDir(dir_));

  KeyInfo info{std::string(name), key.address()};
  std::string text = json{{"name", info.name},
                          {"address", info.address.ToHex()},
                          {"secret", ToHex(ByteView(key.secret().data(), key.secret().size()))}}
                         .dump() +
                     "\n";

  // Write a private temp file, then link it into place: link() never overwrites, so the
  // key file appears whole or not at all and a concurrent creator gets EEXIST.
  uint8_t nonce[8];
  if (RAND_bytes(nonce, sizeof nonce) != 1) {
    Wipe(text);
    return Internal("random source failed");
  }
  const std::string tmp = (fs::path(dir_) / (".tmp-" + ToHex(ByteView(nonce, sizeof nonce)))).string();
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    Wipe(text);
    return Unavailable("creating " + tmp + ": " + ErrnoText());
  }
  Status st = WriteAll(fd, text, tmp);
  Wipe(text);
  if (st.ok() && ::fchmod(fd, 0600) != 0) st = Unavailable("chmod " + tmp + ": " + ErrnoText());
  if (st.ok() && ::fsync(fd) != 0) st = Unavailable("fsync " + tmp + ": " + ErrnoText());
  if (::close(fd) != 0 && st.ok()) st = Unavailable("closing " + tmp + ": " + ErrnoText());
  if (st.ok() && ::link(tmp.c_str(), path.c_str()) != 0) {
    st = errno == EEXIST
             ? AlreadyExists("key \"" + std::string(name) + "\" already exists (" + path + "); refusing to overwrite")
             : Unavailable("creating " + path + ": " + ErrnoText());
  }
  ::unlink(tmp.c_str());
  if (!st.ok()) return st;
  // Make the new directory entry durable.
  int dir_fd = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
  return info;
}

Result<crypto::PrivateKey> Keystore::Get(std::string_view name) const {
  RETURN_IF_ERROR(ValidateKeyName(name));
  const std::string path = KeyPath(name);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    if (errno == ENOENT) return NotFound("no key named \"" + std::string(name) + "\" in " + dir_);
    return Unavailable("opening " + path + ": " + ErrnoText());
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return DataLoss(path + " is not a regular file");
  }
  if ((st.st_mode & 077) != 0) {
    ::close(fd);
    return PermissionDenied(path + " is accessible by group or others; run chmod 600 on it");
  }
  if (st.st_size > static_cast<off_t>(kMaxKeyFileBytes)) {
    ::close(fd);
    return DataLoss(path + " is too large to be a key file");
  }
  std::string text(static_cast<size_t>(st.st_size), '\0');
  ssize_t n = ::read(fd, text.data(), text.size());
  ::close(fd);
  if (n != static_cast<ssize_t>(text.size())) {
    Wipe(text);
    return Unavailable("reading " + path);
  }

  // Errors below never include the file's text: it holds the secret.
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception&) {
    Wipe(text);
    return DataLoss(path + " is not a valid key file (bad JSON)");
  }
  Wipe(text);
  if (!j.is_object() || !j.contains("secret") || !j["secret"].is_string() || !j.contains("address") ||
      !j["address"].is_string() || !j.contains("name") || !j["name"].is_string()) {
    return DataLoss(path + " is not a valid key file (needs name, address, secret)");
  }
  if (j["name"].get<std::string>() != name) {
    return DataLoss(path + " holds key \"" + j["name"].get<std::string>() + "\", not \"" + std::string(name) + "\"");
  }
  std::string secret_hex = j["secret"].get<std::string>();
  auto& stored_secret = j["secret"].get_ref<std::string&>();
  Wipe(stored_secret);
  auto secret = FromHex(secret_hex);
  Wipe(secret_hex);
  if (!secret.ok() || secret->size() != 32) return DataLoss(path + " has a malformed secret");
  auto key = crypto::PrivateKey::FromBytes(*secret);
  OPENSSL_cleanse(secret->data(), secret->size());
  if (!key.ok()) return DataLoss(path + " has an invalid secret");
  auto address = crypto::Address::FromHex(j["address"].get<std::string>());
  if (!address.ok() || *address != key->address()) {
    return DataLoss(path + ": the stored address does not match the secret");
  }
  return *key;
}

Result<std::vector<KeyInfo>> Keystore::List() const {
  std::vector<KeyInfo> out;
  std::error_code ec;
  if (!fs::exists(dir_, ec)) return out;
  for (const auto& entry : fs::directory_iterator(dir_, ec)) {
    const fs::path& p = entry.path();
    if (p.extension() != ".json") continue;
    std::string name = p.stem().string();
    if (!ValidateKeyName(name).ok()) continue;  // not ours (e.g. editor backups)
    // Read the public part only; Get() checks the secret when the key is used.
    std::ifstream in(p);
    std::stringstream buffer;
    buffer << in.rdbuf();
    std::string text = buffer.str();
    json j;
    try {
      j = json::parse(text);
    } catch (const json::exception&) {
      Wipe(text);
      return DataLoss(p.string() + " is not a valid key file (bad JSON)");
    }
    Wipe(text);
    if (j.contains("secret") && j["secret"].is_string()) Wipe(j["secret"].get_ref<std::string&>());
    if (!j.is_object() || !j.contains("address") || !j["address"].is_string()) {
      return DataLoss(p.string() + " is not a valid key file (no address)");
    }
    auto address = crypto::Address::FromHex(j["address"].get<std::string>());
    if (!address.ok()) return DataLoss(p.string() + " has a malformed address");
    out.push_back({name, *address});
  }
  if (ec) return Unavailable("listing " + dir_ + ": " + ec.message());
  std::sort(out.begin(), out.end(), [](const KeyInfo& a, const KeyInfo& b) { return a.name < b.name; });
  return out;
}

std::string DevKeyName(size_t index) { return "dev" + std::to_string(index); }

std::vector<crypto::PrivateKey> DevKeys(size_t n) {
  std::vector<crypto::PrivateKey> keys;
  keys.reserve(n);
  for (size_t i = 0; i < n; ++i) keys.push_back(protocol::DevKey(i));
  return keys;
}

}  // namespace lucid::keystore
