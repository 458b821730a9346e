#include "server/data_dir.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <set>

namespace coffer {
namespace {

Status IoError(const std::string& what) {
  return Status(ErrorCode::kInternalFailure, what + ": " + std::strerror(errno));
}

const char* TypeName(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISCHR(mode) || S_ISBLK(mode)) return "a device";
  return "not a regular file";
}

uint32_t BigEndian32(const unsigned char* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

// SQLite's WAL checksum (walChecksumBytes): pairs of 32-bit words in the byte order the magic
// number names, accumulated into (s0, s1).
void WalChecksum(bool big_endian, const unsigned char* data, size_t n, uint32_t* s0, uint32_t* s1) {
  for (size_t i = 0; i + 8 <= n; i += 8) {
    uint32_t x0, x1;
    if (big_endian) {
      x0 = BigEndian32(data + i);
      x1 = BigEndian32(data + i + 4);
    } else {
      std::memcpy(&x0, data + i, 4);
      std::memcpy(&x1, data + i + 4, 4);
    }
    *s0 += x0 + *s1;
    *s1 += x1 + *s0;
  }
}

}  // namespace

DataDirLock& DataDirLock::operator=(DataDirLock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

DataDirLock::~DataDirLock() {
  if (fd_ >= 0) ::close(fd_);  // releases the flock
}

Result<DataDirLock> DataDirLock::Acquire(const std::string& dir) {
  const std::string path = dir + "/" + kLockFile;
  // Close-on-exec: a program coffer starts must not keep the directory locked after coffer ends.
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return IoError("cannot open " + path);
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    std::string holder;
    char buf[32] = {};
    ssize_t n = ::pread(fd, buf, sizeof(buf) - 1, 0);
    if (n > 0) holder = std::string(buf, static_cast<size_t>(n));
    while (!holder.empty() && (holder.back() == '\n' || holder.back() == ' ')) holder.pop_back();
    ::close(fd);
    if (err != EWOULDBLOCK) {
      errno = err;
      return IoError("cannot lock " + path);
    }
    return Status(ErrorCode::kFailedPrecondition,
                  dir + " is in use by another coffer process" +
                      (holder.empty() ? std::string() : " (pid " + holder + ")") +
                      ": a data directory is served by one server at a time. Stop that "
                      "server first; several nodes share a store only through PostgreSQL.");
  }
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) < 0) {
    ::close(fd);
    return IoError("cannot write " + path);
  }
  return DataDirLock(fd);
}

Result<DataDirContents> InspectDataDir(const std::string& dir) {
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0) return IoError("cannot read data directory " + dir);
  if (!S_ISDIR(st.st_mode)) {
    return Status(ErrorCode::kInvalidParameter,
                  dir + " is " + TypeName(st.st_mode) +
                      ", not a directory: --data-dir names the directory "
                      "that holds coffer's store.");
  }
  static const std::set<std::string> kOwn = {
      kStoreFile,   kWalFile,        "coffer.db-shm",    "coffer.db-journal",
      "root.key",   "root.key.next", "root-credentials", "aws-config",
      kLockFile,    kAuditDir,       kBackupStagingDir,  kRestoreMarkerFile,
      "lost+found",  // the root of a freshly made file system
  };
  DataDirContents out;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return IoError("cannot list data directory " + dir);
  std::vector<std::string> names;
  while (struct dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    names.push_back(std::move(name));
  }
  ::closedir(d);
  for (const std::string& name : names) {
    if (!kOwn.contains(name)) {
      // Copies kept for inspection (coffer.db-wal.damaged-...) are coffer's too.
      if (name.rfind("coffer.db-wal.damaged-", 0) != 0) out.foreign.push_back(name);
      continue;
    }
    if (name == "lost+found") continue;
    const std::string path = dir + "/" + name;
    if (name == kAuditDir || name == kBackupStagingDir) {
      // The audit trail's default home (--audit-dir) and the backups being made: directories.
      if (::stat(path.c_str(), &st) != 0) return IoError("cannot stat " + path);
      if (!S_ISDIR(st.st_mode)) {
        return Status(ErrorCode::kInvalidParameter,
                      path + " is " + TypeName(st.st_mode) +
                          ", where coffer keeps a directory: move it away "
                          "and start again.");
      }
      continue;
    }
    if (::stat(path.c_str(), &st) != 0) return IoError("cannot stat " + path);
    if (!S_ISREG(st.st_mode)) {
      return Status(ErrorCode::kInvalidParameter,
                    path + " is " + TypeName(st.st_mode) +
                        ", where coffer keeps a file: move it away (or restore the file from a "
                        "backup of the data directory) and start again.");
    }
    if (name == kStoreFile) out.store = st.st_size > 0;
    if (name == kWalFile) out.wal = st.st_size > 0;
    if (name == "root.key") out.root_key = true;
    if (name == kRestoreMarkerFile) out.restore_incomplete = true;
  }
  return out;
}

Result<WalReport> ScanWal(const std::string& path) {
  WalReport r;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (errno == ENOENT) return r;
    return IoError("cannot read " + path);
  }
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (data.empty()) return r;
  r.present = true;
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  if (data.size() < 32) {
    r.bad_header = true;
    return r;
  }
  const uint32_t magic = BigEndian32(p);
  const bool big_endian = magic == 0x377f0683;
  r.page_size = BigEndian32(p + 8);
  const uint32_t salt1 = BigEndian32(p + 16), salt2 = BigEndian32(p + 20);
  uint32_t s0 = 0, s1 = 0;
  WalChecksum(big_endian, p, 24, &s0, &s1);
  const bool page_size_ok =
      r.page_size >= 512 && r.page_size <= 65536 && (r.page_size & (r.page_size - 1)) == 0;
  if ((magic != 0x377f0682 && magic != 0x377f0683) || !page_size_ok || s0 != BigEndian32(p + 24) ||
      s1 != BigEndian32(p + 28)) {
    r.bad_header = true;
    r.first_bad_frame = 0;
    if (!page_size_ok) return r;
  }
  const size_t frame_size = 24 + size_t{r.page_size};
  int64_t index = 0;
  for (size_t off = 32; off + frame_size <= data.size(); off += frame_size, ++index) {
    const unsigned char* f = p + off;
    const bool ours = BigEndian32(f + 8) == salt1 && BigEndian32(f + 12) == salt2;
    const bool commit = BigEndian32(f + 4) != 0;
    if (r.first_bad_frame < 0) {
      uint32_t c0 = s0, c1 = s1;
      WalChecksum(big_endian, f, 8, &c0, &c1);
      WalChecksum(big_endian, f + 24, r.page_size, &c0, &c1);
      if (ours && c0 == BigEndian32(f + 16) && c1 == BigEndian32(f + 20)) {
        s0 = c0;
        s1 = c1;
        ++r.valid_frames;
        if (commit) ++r.valid_commits;
        continue;
      }
      r.first_bad_frame = index;
    }
    // Past the first bad frame the checksum chain is broken; frames of this log (its salts)
    // that end a transaction are transactions SQLite will drop. Frames with other salts are
    // left over from before the log last restarted, and mean nothing.
    if (ours && commit) ++r.dropped_commits;
  }
  return r;
}

std::string WalReport::Describe() const {
  if (!present) return "no write-ahead log";
  std::string s;
  if (bad_header) {
    s = "the write-ahead log's header is damaged: SQLite ignores the whole log";
  } else {
    s = "the write-ahead log holds " + std::to_string(valid_commits) + " intact transaction(s)";
  }
  if (dropped_commits == 0) return s;
  s += "; " + std::to_string(dropped_commits) + " later transaction(s) fail their checksum";
  if (lost_acknowledged() > 0) {
    s += ": " + std::to_string(lost_acknowledged()) +
         " acknowledged write(s) would be lost (the last one may have been interrupted by a "
         "crash before it was acknowledged)";
  } else {
    s += ": the last write, interrupted by a crash before it was acknowledged";
  }
  return s;
}

}  // namespace coffer
