#include "audit/audit_journal.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <string_view>

namespace coffer::audit {
namespace {

constexpr size_t kHeaderBytes = 8;  // u32 payload length, u32 CRC-32 of the payload
constexpr uint32_t kMaxEntryBytes = 64 << 20;
constexpr char kSuffix[] = ".journal";

Status IoError(const std::string& what) {
  return Status(ErrorCode::kServiceUnavailable, "coffer cannot write its audit journal (" + what +
                                                    ": " + std::strerror(errno) +
                                                    "); the request was not recorded.");
}

void PutU32(std::string* out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

uint32_t GetU32(const char* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

uint32_t Crc(std::string_view data) {
  return static_cast<uint32_t>(
      crc32(0L, reinterpret_cast<const Bytef*>(data.data()), static_cast<uInt>(data.size())));
}

// Fields are netstrings ("<length>:<bytes>"), so no value needs escaping.
void PutField(std::string* out, std::string_view value) {
  out->append(std::to_string(value.size()));
  out->push_back(':');
  out->append(value);
}

bool GetField(std::string_view* in, std::string_view* value) {
  const size_t colon = in->find(':');
  if (colon == std::string_view::npos || colon == 0 || colon > 10) return false;
  size_t length = 0;
  auto [end, ec] = std::from_chars(in->data(), in->data() + colon, length);
  if (ec != std::errc() || end != in->data() + colon || length > in->size() - colon - 1) {
    return false;
  }
  *value = in->substr(colon + 1, length);
  in->remove_prefix(colon + 1 + length);
  return true;
}

bool GetString(std::string_view* in, std::string* out) {
  std::string_view v;
  if (!GetField(in, &v)) return false;
  out->assign(v);
  return true;
}

bool GetInt(std::string_view* in, int64_t* out) {
  std::string_view v;
  if (!GetField(in, &v)) return false;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), *out);
  return ec == std::errc() && end == v.data() + v.size();
}

// Reads the whole file at `path`.
bool ReadFile(const std::string& path, std::string* out) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    return false;
  }
  out->resize(static_cast<size_t>(st.st_size));
  size_t done = 0;
  while (done < out->size()) {
    const ssize_t n = ::pread(fd, out->data() + done, out->size() - done, static_cast<off_t>(done));
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  out->resize(done);
  return true;
}

// The length of the run of whole, intact entries at the start of `data`.
size_t IntactPrefix(std::string_view data) {
  size_t at = 0;
  while (data.size() - at >= kHeaderBytes) {
    const uint32_t length = GetU32(data.data() + at);
    if (length > kMaxEntryBytes || data.size() - at - kHeaderBytes < length) break;
    const std::string_view payload = data.substr(at + kHeaderBytes, length);
    if (Crc(payload) != GetU32(data.data() + at + 4)) break;
    at += kHeaderBytes + length;
  }
  return at;
}

// Whether `rest`, what follows the intact entries, is what a crash in the middle of an append
// leaves: part of a header, or one entry that runs to (or past) the end of the file.
bool TornTail(std::string_view rest) {
  if (rest.size() < kHeaderBytes) return true;
  const uint32_t length = GetU32(rest.data());
  if (length > kMaxEntryBytes) return false;
  return rest.size() - kHeaderBytes <= length;
}

}  // namespace

std::string EncodeJournalRow(const AuditRow& r) {
  std::string out;
  out.reserve(r.record.size() + 256);
  PutField(&out, "3");  // entry format version (1: without signals, 2: without principal)
  PutField(&out, std::to_string(r.time_ms));
  PutField(&out, r.account);
  PutField(&out, r.region);
  PutField(&out, r.event_id);
  PutField(&out, r.event_name);
  PutField(&out, r.event_source);
  PutField(&out, r.username);
  PutField(&out, r.access_key_id);
  PutField(&out, r.read_only ? "1" : "0");
  PutField(&out, std::to_string(r.signals));
  PutField(&out, r.principal_arn);
  PutField(&out, std::to_string(r.resources.size()));
  for (const auto& res : r.resources) {
    PutField(&out, res.type);
    PutField(&out, res.name);
  }
  PutField(&out, r.record);
  return out;
}

bool DecodeJournalRow(std::string_view in, AuditRow* r) {
  std::string_view version;
  int64_t read_only = 0, signals = 0, resources = 0;
  r->principal_arn.clear();  // entries before format 3 name none
  if (!GetField(&in, &version) || (version != "1" && version != "2" && version != "3")) {
    return false;
  }
  if (!GetInt(&in, &r->time_ms) || !GetString(&in, &r->account) || !GetString(&in, &r->region) ||
      !GetString(&in, &r->event_id) || !GetString(&in, &r->event_name) ||
      !GetString(&in, &r->event_source) || !GetString(&in, &r->username) ||
      !GetString(&in, &r->access_key_id) || !GetInt(&in, &read_only) ||
      (version != "1" && !GetInt(&in, &signals)) ||
      (version == "3" && !GetString(&in, &r->principal_arn)) || !GetInt(&in, &resources) ||
      resources < 0 || resources > 1000 || signals < 0 || signals > 0xffffffff) {
    return false;
  }
  r->read_only = read_only != 0;
  r->signals = static_cast<uint32_t>(signals);
  r->resources.resize(static_cast<size_t>(resources));
  for (auto& res : r->resources) {
    if (!GetString(&in, &res.type) || !GetString(&in, &res.name)) return false;
  }
  return GetString(&in, &r->record) && in.empty();
}

Result<std::unique_ptr<AuditJournal>> AuditJournal::Open(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return IoError("mkdir " + dir);
  std::unique_ptr<AuditJournal> journal(new AuditJournal(dir));
  COFFER_RETURN_IF_ERROR(journal->OpenTail());
  return journal;
}

AuditJournal::~AuditJournal() {
  if (fd_ >= 0) ::close(fd_);
}

std::string AuditJournal::SegmentPath(int64_t first_offset) const {
  char name[32];
  std::snprintf(name, sizeof(name), "%020lld", static_cast<long long>(first_offset));
  return dir_ + "/" + name + kSuffix;
}

std::vector<int64_t> AuditJournal::Segments() const {
  std::vector<int64_t> out;
  DIR* d = ::opendir(dir_.c_str());
  if (d == nullptr) return out;
  while (struct dirent* e = ::readdir(d)) {
    std::string_view name = e->d_name;
    if (name.size() != 20 + std::strlen(kSuffix) || !name.ends_with(kSuffix)) continue;
    int64_t offset = 0;
    auto [end, ec] = std::from_chars(name.data(), name.data() + 20, offset);
    if (ec == std::errc() && end == name.data() + 20) out.push_back(offset);
  }
  ::closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

Status AuditJournal::OpenTail() {
  const std::vector<int64_t> segments = Segments();
  if (segments.empty()) {
    end_ = 0;
    return StartSegment();
  }
  segment_start_.store(segments.back(), std::memory_order_release);
  const std::string path = SegmentPath(segments.back());
  std::string data;
  if (!ReadFile(path, &data)) return IoError("read " + path);
  const size_t intact = IntactPrefix(data);
  fd_ = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd_ < 0) return IoError("open " + path);
  if (intact < data.size() && !TornTail(std::string_view(data).substr(intact))) {
    return Status(ErrorCode::kInvalidParameter,
                  "the audit journal " + path + " is damaged at byte " + std::to_string(intact) +
                      ": an entry whose checksum does not match is followed by more entries. "
                      "coffer does not cut the journal short; move the file aside to keep it "
                      "for inspection (the records after the damage are lost to LookupEvents) "
                      "and start again.");
  }
  if (intact < data.size()) {
    // A torn tail: an append that never completed, so no call was answered on it.
    if (::ftruncate(fd_, static_cast<off_t>(intact)) != 0 || ::fdatasync(fd_) != 0) {
      return IoError("truncate " + path);
    }
  }
  if (::lseek(fd_, static_cast<off_t>(intact), SEEK_SET) < 0) return IoError("seek " + path);
  end_ = segment_start_ + static_cast<int64_t>(intact);
  (void)ReserveAhead();  // low_on_space() reports a failure
  return Status::Ok();
}

Status AuditJournal::StartSegment() {
  if (fd_ >= 0) {
    // The reserve past the old segment's end goes back to the file system.
    (void)::ftruncate(fd_, static_cast<off_t>(end_ - segment_start_));
    ::close(fd_);
  }
  reserved_to_ = 0;
  segment_start_.store(end_, std::memory_order_release);
  const std::string path = SegmentPath(end_);
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd_ < 0) return IoError("create " + path);
  // The new name must survive a crash as well as the entries written to it.
  const int dir_fd = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) return IoError("open " + dir_);
  const int synced = ::fsync(dir_fd);
  ::close(dir_fd);
  if (synced != 0) return IoError("sync " + dir_);
  (void)ReserveAhead();  // low_on_space() reports a failure
  return Status::Ok();
}

Status AuditJournal::Append(const std::vector<AuditRow>& rows) {
  if (end_ - segment_start_ >= kSegmentBytes) COFFER_RETURN_IF_ERROR(StartSegment());
  (void)ReserveAhead();  // on failure the remaining reserve takes this batch; low_on_space()
  std::string buffer;
  for (const auto& row : rows) {
    const std::string payload = EncodeJournalRow(row);
    PutU32(&buffer, static_cast<uint32_t>(payload.size()));
    PutU32(&buffer, Crc(payload));
    buffer += payload;
  }
  size_t done = 0;
  while (done < buffer.size()) {
    const ssize_t n = ::write(fd_, buffer.data() + done, buffer.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      // Whatever part was written is a torn tail: cut it off so the next append starts on an
      // entry boundary.
      const int saved = errno;
      (void)::ftruncate(fd_, static_cast<off_t>(end_ - segment_start_));
      (void)::lseek(fd_, static_cast<off_t>(end_ - segment_start_), SEEK_SET);
      errno = saved;
      return IoError("write");
    }
    done += static_cast<size_t>(n);
  }
  if (::fdatasync(fd_) != 0) return IoError("sync");
  end_ += static_cast<int64_t>(buffer.size());
  return Status::Ok();
}

Status AuditJournal::ReserveAhead() {
  const int64_t local_end = end_ - segment_start_;
  if (reserved_to_ >= local_end + kReserveBytes) {
    low_on_space_ = false;
    return Status::Ok();
  }
  const int64_t target = local_end + 2 * kReserveBytes;
  const int rc = ::fallocate(fd_, FALLOC_FL_KEEP_SIZE, static_cast<off_t>(local_end),
                             static_cast<off_t>(target - local_end));
  if (rc != 0) {
    // A file system without fallocate cannot reserve: appends then find out as they write.
    if (errno == EOPNOTSUPP) {
      reserved_to_ = target;
      low_on_space_ = false;
      return Status::Ok();
    }
    low_on_space_ = true;
    return IoError("reserve space");
  }
  reserved_to_ = target;
  low_on_space_ = false;
  return Status::Ok();
}

Result<std::vector<AuditRow>> AuditJournal::ReadFrom(int64_t from, size_t max_rows,
                                                     int64_t* next) const {
  std::vector<AuditRow> rows;
  *next = from;
  for (int64_t start : Segments()) {
    std::string data;
    if (!ReadFile(SegmentPath(start), &data)) return IoError("read journal segment");
    const int64_t stop = start + static_cast<int64_t>(data.size());
    if (stop <= *next) continue;
    if (start > *next) {
      return Status(ErrorCode::kInternalFailure,
                    "the audit journal has a gap before offset " + std::to_string(start));
    }
    size_t at = static_cast<size_t>(*next - start);
    const size_t intact = at + IntactPrefix(std::string_view(data).substr(at));
    while (at < intact && rows.size() < max_rows) {
      const uint32_t length = GetU32(data.data() + at);
      AuditRow row;
      if (!DecodeJournalRow(std::string_view(data).substr(at + kHeaderBytes, length), &row)) {
        return Status(ErrorCode::kInternalFailure,
                      "the audit journal holds an entry coffer cannot read at offset " +
                          std::to_string(start + static_cast<int64_t>(at)));
      }
      rows.push_back(std::move(row));
      at += kHeaderBytes + length;
    }
    *next = start + static_cast<int64_t>(at);
    if (rows.size() >= max_rows) break;
    if (intact < data.size() && start != segment_start()) {
      return Status(ErrorCode::kInternalFailure,
                    "the audit journal segment " + SegmentPath(start) + " is damaged");
    }
  }
  return rows;
}

Status AuditJournal::RemoveBefore(int64_t offset) {
  const std::vector<int64_t> segments = Segments();
  for (size_t i = 0; i + 1 < segments.size(); ++i) {
    // A segment ends where the next begins.
    if (segments[i + 1] > offset || segments[i] == segment_start()) break;
    if (::unlink(SegmentPath(segments[i]).c_str()) != 0 && errno != ENOENT) {
      return IoError("remove journal segment");
    }
  }
  return Status::Ok();
}

}  // namespace coffer::audit
