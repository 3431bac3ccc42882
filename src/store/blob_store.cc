#include "store/blob_store.h"

#include <algorithm>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <utility>

namespace lucid::store {
namespace {

namespace fs = std::filesystem;

Status Errno(std::string_view what, const std::string& path) {
  return Unavailable(std::string(what) + " " + path + ": " + std::strerror(errno));
}

// Makes a directory entry (create, rename) durable.
Status SyncDir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Errno("opening directory", dir);
  int rc = ::fsync(fd);
  int saved = errno;
  ::close(fd);
  errno = saved;
  if (rc != 0) return Errno("syncing directory", dir);
  return Status::Ok();
}

Status WriteAll(int fd, ByteView content, const std::string& path) {
  size_t done = 0;
  while (done < content.size()) {
    ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Errno("writing", path);
    }
    done += static_cast<size_t>(n);
  }
  return Status::Ok();
}

// Creates dir (and parent root) if missing, syncing each parent whose entries changed.
Status EnsureDir(const std::string& root, const std::string& dir) {
  std::error_code ec;
  if (fs::is_directory(dir, ec)) return Status::Ok();
  bool root_created = fs::create_directories(root, ec);
  if (ec) return Unavailable("creating blob root " + root + ": " + ec.message());
  if (root_created) {
    fs::path abs = fs::absolute(root).lexically_normal();
    if (!abs.has_filename()) abs = abs.parent_path();  // "a/b/" names b
    RETURN_IF_ERROR(SyncDir(abs.parent_path().string()));
  }
  fs::create_directory(dir, ec);
  if (ec) return Unavailable("creating blob directory " + dir + ": " + ec.message());
  return SyncDir(root);
}

std::atomic<uint64_t> temp_counter{0};

}  // namespace

BlobStore::BlobStore(std::string root) : root_(std::move(root)) {}

std::string BlobStore::PathOf(const crypto::Cid& cid) const {
  return root_ + "/" + ToHex(ByteView(cid.digest.data(), 1)) + "/" + cid.ToString();
}

bool BlobStore::Has(const crypto::Cid& cid) const {
  std::error_code ec;
  return fs::is_regular_file(PathOf(cid), ec);
}

Result<uint64_t> BlobStore::Size(const crypto::Cid& cid) const {
  std::error_code ec;
  uint64_t size = fs::file_size(PathOf(cid), ec);
  if (ec == std::errc::no_such_file_or_directory) return NotFound("blob " + cid.ToString() + " not found");
  if (ec) return Unavailable("sizing blob " + cid.ToString() + ": " + ec.message());
  return size;
}

namespace {

// A blob file open for reading, closed when it goes out of scope.
struct OpenBlob {
  int fd = -1;
  uint64_t size = 0;
  OpenBlob() = default;
  OpenBlob(const OpenBlob&) = delete;
  OpenBlob& operator=(const OpenBlob&) = delete;
  ~OpenBlob() {
    if (fd >= 0) ::close(fd);
  }
};

Status OpenForRead(const std::string& path, const crypto::Cid& cid, OpenBlob& blob) {
  blob.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (blob.fd < 0) {
    if (errno == ENOENT) return NotFound("blob " + cid.ToString() + " not found");
    return Errno("opening blob", path);
  }
  struct stat st {};
  if (::fstat(blob.fd, &st) != 0) return Errno("stat of blob", path);
  blob.size = static_cast<uint64_t>(st.st_size);
  return Status::Ok();
}

// Reads up to out.size() bytes at offset; fewer only at the end of the file.
Result<size_t> ReadAt(const OpenBlob& blob, uint64_t offset, Bytes& out, const std::string& path) {
  size_t done = 0;
  while (done < out.size()) {
    const ssize_t n = ::pread(blob.fd, out.data() + done, out.size() - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Errno("reading blob", path);
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  return done;
}

}  // namespace

Result<Bytes> BlobStore::ReadRange(const crypto::Cid& cid, uint64_t offset, uint64_t length) const {
  const std::string path = PathOf(cid);
  OpenBlob blob;
  RETURN_IF_ERROR(OpenForRead(path, cid, blob));
  if (offset > blob.size)
    return OutOfRange("offset " + std::to_string(offset) + " is past the end of " + cid.ToString() + " (" +
                      std::to_string(blob.size) + " bytes)");
  Bytes out(std::min(length, blob.size - offset));
  ASSIGN_OR_RETURN(size_t done, ReadAt(blob, offset, out, path));
  if (done < out.size()) return DataLoss("blob " + cid.ToString() + " shrank while read");
  return out;
}

Result<Bytes> BlobStore::Get(const crypto::Cid& cid) const {
  const std::string path = PathOf(cid);
  OpenBlob blob;
  RETURN_IF_ERROR(OpenForRead(path, cid, blob));
  if (blob.size > kMaxBlobBytes) return DataLoss("blob " + cid.ToString() + " on disk is larger than any stored blob");
  Bytes content(static_cast<size_t>(blob.size));
  // Shrunk while reading: the hash check below refuses it.
  ASSIGN_OR_RETURN(size_t done, ReadAt(blob, 0, content, path));
  content.resize(done);
  // Disks and people alter files; every read is checked against the CID.
  RETURN_IF_ERROR(cid.Check(content));
  return content;
}

Result<crypto::Cid> BlobStore::Put(ByteView content) {
  if (content.size() > kMaxBlobBytes)
    return OutOfRange("blob of " + std::to_string(content.size()) + " bytes exceeds limit of " +
                      std::to_string(kMaxBlobBytes));
  const crypto::Cid cid = crypto::Cid::Of(content);
  const std::string path = PathOf(cid);
  // Idempotent: an intact copy is kept; a damaged one is replaced below.
  if (auto size = Size(cid); size.ok() && *size == content.size() && Get(cid).ok()) return cid;

  const std::string dir = fs::path(path).parent_path().string();
  RETURN_IF_ERROR(EnsureDir(root_, dir));
  const std::string temp = path + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(temp_counter++);
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return Errno("creating", temp);
  Status s = WriteAll(fd, content, temp);
  if (s.ok() && ::fsync(fd) != 0) s = Errno("syncing", temp);
  if (::close(fd) != 0 && s.ok()) s = Errno("closing", temp);
  if (s.ok() && ::rename(temp.c_str(), path.c_str()) != 0) s = Errno("renaming into", path);
  if (!s.ok()) {
    ::unlink(temp.c_str());
    return s;
  }
  RETURN_IF_ERROR(SyncDir(dir));
  return cid;
}

}  // namespace lucid::store
