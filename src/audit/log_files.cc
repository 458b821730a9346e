#include "audit/log_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <boost/json.hpp>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>

#include "core/time_format.h"
#include "crypto/crypto.h"

namespace coffer::audit {
namespace {

namespace json = boost::json;

// "2026/12/06" from "20261206T...".
std::string DatePath(const std::string& amz_date) {
  return amz_date.substr(0, 4) + "/" + amz_date.substr(4, 2) + "/" + amz_date.substr(6, 2);
}

json::value OptionalString(const std::optional<std::string>& s) {
  return s ? json::value(*s) : json::value(nullptr);
}

// The string member `key`; nullopt when absent, null or not a string.
std::optional<std::string> StringAt(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || !v->is_string()) return std::nullopt;
  return std::string(v->get_string());
}

std::optional<EpochMillis> TimeAt(const json::object& o, std::string_view key) {
  auto s = StringAt(o, key);
  return s ? ParseEventTime(*s) : std::nullopt;
}

Status IoError(const std::string& what, const std::string& path) {
  return Status(ErrorCode::kServiceUnavailable,
                "the audit trail cannot " + what + " " + path + ": " + std::strerror(errno));
}

Status MakeDirectories(const std::string& path) {
  if (path.empty() || ::access(path.c_str(), F_OK) == 0) return Status::Ok();
  const size_t slash = path.rfind('/');
  if (slash != std::string::npos && slash > 0) {
    COFFER_RETURN_IF_ERROR(MakeDirectories(path.substr(0, slash)));
  }
  if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) return IoError("create", path);
  return Status::Ok();
}

}  // namespace

std::string LogDirectory(const std::string& account, const std::string& region) {
  return "AWSLogs/" + account + "/CloudTrail/" + region;
}

std::string DigestDirectory(const std::string& account, const std::string& region) {
  return "AWSLogs/" + account + "/CloudTrail-Digest/" + region;
}

std::string LogObject(const std::string& account, const std::string& region,
                      EpochMillis first_event_ms, std::string_view first_event_id) {
  const std::string date = FormatAmzDate(first_event_ms);  // 20261206T010203Z
  // CloudTrail's 16-character unique string; here from the first record's event id.
  const std::string unique = crypto::HexLower(crypto::Sha256(first_event_id).data(), 8);
  return LogDirectory(account, region) + "/" + DatePath(date) + "/" + account + "_CloudTrail_" +
         region + "_" + date.substr(0, 13) + "Z_" + unique + ".json.gz";
}

std::string DigestObject(const std::string& account, const std::string& region,
                         const std::string& home_region, EpochMillis end_ms) {
  const std::string date = FormatAmzDate(end_ms);
  return DigestDirectory(account, region) + "/" + DatePath(date) + "/" + account +
         "_CloudTrail-Digest_" + region + "_" + kTrailName + "_" + home_region + "_" + date +
         ".json.gz";
}

std::string LogFileJson(const std::vector<const AuditRow*>& rows) {
  std::string out = "{\"Records\":[";
  for (size_t i = 0; i < rows.size(); ++i) {
    if (i > 0) out += ',';
    out += rows[i]->record;
  }
  out += "]}";
  return out;
}

std::string Gzip(std::string_view data) {
  z_stream z{};
  // windowBits 15 + 16: a gzip header and trailer around the deflate stream.
  if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    std::abort();
  }
  std::string out(deflateBound(&z, static_cast<uLong>(data.size())), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  if (rc != Z_STREAM_END) std::abort();  // deflateBound() is always enough
  return out;
}

std::optional<std::string> Gunzip(std::string_view data, size_t max_bytes) {
  z_stream z{};
  if (inflateInit2(&z, 15 + 16) != Z_OK) return std::nullopt;
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  std::string out;
  char buf[64 * 1024];
  int rc = Z_OK;
  while (rc == Z_OK) {
    z.next_out = reinterpret_cast<Bytef*>(buf);
    z.avail_out = sizeof(buf);
    rc = inflate(&z, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) break;
    out.append(buf, sizeof(buf) - z.avail_out);
    if (out.size() > max_bytes) rc = Z_MEM_ERROR;
    if (rc == Z_OK && z.avail_in == 0 && z.avail_out != 0) rc = Z_BUF_ERROR;  // cut short
  }
  const bool whole = rc == Z_STREAM_END && z.avail_in == 0;
  inflateEnd(&z);
  if (!whole) return std::nullopt;
  return out;
}

std::string DigestJson(const Digest& d) {
  EpochMillis newest = 0;
  EpochMillis oldest = 0;
  json::array files;
  for (const auto& f : d.log_files) {
    if (newest == 0 || f.newest_event_ms > newest) newest = f.newest_event_ms;
    if (oldest == 0 || f.oldest_event_ms < oldest) oldest = f.oldest_event_ms;
    files.push_back(json::object{{"s3Bucket", kTrailBucket},
                                 {"s3Object", f.object},
                                 {"hashValue", f.sha256_hex},
                                 {"hashAlgorithm", "SHA-256"},
                                 {"newestEventTime", FormatEventTime(f.newest_event_ms)},
                                 {"oldestEventTime", FormatEventTime(f.oldest_event_ms)}});
  }
  const bool first = !d.previous_object.has_value();
  json::object o{
      {"awsAccountId", d.account},
      {"digestStartTime", FormatEventTime(d.start_ms)},
      {"digestEndTime", FormatEventTime(d.end_ms)},
      {"digestS3Bucket", kTrailBucket},
      {"digestS3Object", d.object},
      {"digestPublicKeyFingerprint", d.key_fingerprint},
      {"digestSignatureAlgorithm", "SHA256withRSA"},
      {"newestEventTime",
       files.empty() ? json::value(nullptr) : json::value(FormatEventTime(newest))},
      {"oldestEventTime",
       files.empty() ? json::value(nullptr) : json::value(FormatEventTime(oldest))},
      {"previousDigestS3Bucket", first ? json::value(nullptr) : json::value(kTrailBucket)},
      {"previousDigestS3Object", OptionalString(d.previous_object)},
      {"previousDigestHashValue", OptionalString(d.previous_sha256_hex)},
      {"previousDigestHashAlgorithm", first ? json::value(nullptr) : json::value("SHA-256")},
      {"previousDigestSignature", OptionalString(d.previous_signature_hex)},
      {"logFiles", std::move(files)}};
  return json::serialize(o);
}

std::optional<Digest> ParseDigest(std::string_view text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return std::nullopt;
  const json::object& o = v.get_object();
  Digest d;
  auto account = StringAt(o, "awsAccountId");
  auto start = TimeAt(o, "digestStartTime");
  auto end = TimeAt(o, "digestEndTime");
  auto object = StringAt(o, "digestS3Object");
  auto fingerprint = StringAt(o, "digestPublicKeyFingerprint");
  const json::value* files = o.if_contains("logFiles");
  if (!account || !start || !end || !object || !fingerprint || files == nullptr ||
      !files->is_array()) {
    return std::nullopt;
  }
  d.account = *account;
  d.start_ms = *start;
  d.end_ms = *end;
  d.object = *object;
  d.key_fingerprint = *fingerprint;
  d.previous_object = StringAt(o, "previousDigestS3Object");
  d.previous_sha256_hex = StringAt(o, "previousDigestHashValue");
  d.previous_signature_hex = StringAt(o, "previousDigestSignature");
  for (const json::value& f : files->get_array()) {
    if (!f.is_object()) return std::nullopt;
    auto file_object = StringAt(f.get_object(), "s3Object");
    auto hash = StringAt(f.get_object(), "hashValue");
    if (!file_object || !hash) return std::nullopt;
    d.log_files.push_back(
        {.object = *file_object,
         .sha256_hex = *hash,
         .oldest_event_ms = TimeAt(f.get_object(), "oldestEventTime").value_or(0),
         .newest_event_ms = TimeAt(f.get_object(), "newestEventTime").value_or(0)});
  }
  return d;
}

std::string DigestSigningString(const Digest& d, std::string_view sha256_hex) {
  return FormatEventTime(d.end_ms) + "\n" + kTrailBucket + "/" + d.object + "\n" +
         std::string(sha256_hex) + "\n" + d.previous_signature_hex.value_or("null");
}

std::string KeyFingerprint(std::string_view public_der) {
  const crypto::Digest digest = crypto::Sha256(public_der);
  return crypto::HexLower(digest.data(), 16);
}

std::string FormatEventTime(EpochMillis t) { return FormatIso8601(t); }

std::optional<EpochMillis> ParseEventTime(std::string_view text) {
  std::string compact;
  for (char c : text) {
    if (c != '-' && c != ':') compact += c;
  }
  if (compact.size() == 8) compact += "T000000Z";
  return ParseAmzDate(compact);
}

Status WriteFileDurably(const std::string& dir, const std::string& relative,
                        std::string_view data) {
  const std::string path = dir + "/" + relative;
  const std::string parent = path.substr(0, path.rfind('/'));
  COFFER_RETURN_IF_ERROR(MakeDirectories(parent));
  const std::string temporary = path + ".tmp";
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return IoError("create", temporary);
  size_t written = 0;
  while (written < data.size()) {
    const ssize_t n = ::write(fd, data.data() + written, data.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      Status error = IoError("write", temporary);
      ::close(fd);
      ::unlink(temporary.c_str());
      return error;
    }
    written += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    Status error = IoError("sync", temporary);
    ::close(fd);
    ::unlink(temporary.c_str());
    return error;
  }
  ::close(fd);
  if (::rename(temporary.c_str(), path.c_str()) != 0) return IoError("rename", temporary);
  const int dir_fd = ::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) return IoError("open", parent);
  const int synced = ::fsync(dir_fd);
  ::close(dir_fd);
  if (synced != 0) return IoError("sync", parent);
  return Status::Ok();
}

std::optional<std::string> ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return std::nullopt;
  return data;
}

}  // namespace coffer::audit
