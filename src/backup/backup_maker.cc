#include "backup/backup_maker.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "core/ids.h"
#include "core/time_format.h"
#include "crypto/crypto.h"

namespace coffer::backup {
namespace json = boost::json;
namespace {

constexpr char kConsistencyPurpose[] = "backup-consistency-check";
constexpr int64_t kMaxPartBytes = 4 << 20;
constexpr char kScheduledPrefix[] = "coffer-backup-";
constexpr char kSuffix[] = ".cbk";
// Events about the deployment as a whole are recorded in us-east-1, where CloudTrail records
// the events of AWS's global services (IAM, STS's global endpoint).
constexpr char kDeploymentEventRegion[] = "us-east-1";

Status IoError(const std::string& what) {
  return Status(ErrorCode::kInternalFailure, what + ": " + std::strerror(errno));
}

Status MakeDir(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return IoError("cannot create " + dir);
  }
  return Status::Ok();
}

std::vector<std::string> ListDir(const std::string& dir) {
  std::vector<std::string> names;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return names;
  while (struct dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name != "." && name != "..") names.push_back(std::move(name));
  }
  ::closedir(d);
  return names;
}

bool EndsWith(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

void RemoveSnapshot(const std::string& path) {
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
    ::unlink((path + suffix).c_str());
  }
}

std::string JoinDigests(const std::vector<std::string>& digests) {
  std::string out;
  for (const auto& d : digests) out += (out.empty() ? "" : " ") + d;
  return out;
}

}  // namespace

BackupMaker::BackupMaker(Store* store, Keyring* keyring, SealManager* seal,
                         std::string operator_account, std::string staging_dir, const Clock* clock)
    : store_(store),
      keyring_(keyring),
      seal_(seal),
      operator_account_(std::move(operator_account)),
      staging_dir_(std::move(staging_dir)),
      clock_(clock) {}

Result<BackupHeader> BackupMaker::Create(const std::string& out_path, const Progress& progress) {
  std::lock_guard lock(create_mu_);
  COFFER_RETURN_IF_ERROR(MakeDir(staging_dir_));
  const std::string snapshot = staging_dir_ + "/snapshot-" + NewUuid() + ".db";
  BackupHeader header;
  // A rekey between the snapshot and the reading of the seal would pair the snapshot with an
  // unseal key that does not open it: the seal is read on both sides, and a backup that
  // straddles a change is taken again.
  for (int attempt = 0;; ++attempt) {
    const SealRecord before = seal_->record();
    COFFER_ASSIGN_OR_RETURN(SecretBytes check_before,
                            keyring_->DeriveFromUnsealKey(kConsistencyPurpose));
    header.created_ms = clock_->NowMillis();
    auto info = store_->SnapshotTo(snapshot);
    if (!info.ok()) {
      RemoveSnapshot(snapshot);
      return info.status();
    }
    const SealRecord after = seal_->record();
    auto check_after = keyring_->DeriveFromUnsealKey(kConsistencyPurpose);
    if (check_after.ok() && before == after &&
        crypto::ConstantTimeEquals(check_before.Reveal(), check_after->Reveal())) {
      header.engine = info->engine;
      header.schema_version = info->schema_version;
      header.secrets = info->secrets;
      header.parameters = info->parameters;
      header.seal.type = std::string(SealTypeName(after.type));
      header.seal.shares = after.shares;
      header.seal.threshold = after.threshold;
      header.seal.passphrase_sealed_key = after.passphrase_sealed_key;
      header.seal.share_digests = JoinDigests(after.share_digests);
      break;
    }
    RemoveSnapshot(snapshot);
    if (!check_after.ok()) return check_after.status();
    if (attempt == 2) {
      return Status(ErrorCode::kServiceUnavailableException,
                    "The seal kept changing while the backup was taken; try again.");
    }
  }
  header.operator_account = operator_account_;
  Status written = WriteBackup(
      snapshot, header,
      [this](const std::string& purpose) { return keyring_->DeriveFromUnsealKey(purpose); },
      out_path, progress);
  struct stat st;
  if (written.ok() && ::stat(snapshot.c_str(), &st) == 0) header.snapshot_bytes = st.st_size;
  RemoveSnapshot(snapshot);
  if (!written.ok()) return written;
  return header;
}

Result<std::string> BackupMaker::StagedPath(const std::string& id) const {
  // Ids are UUIDs this maker made: anything else could name a path outside the staging area.
  const bool well_formed = id.size() == 36 && std::all_of(id.begin(), id.end(), [](char c) {
                             return std::isxdigit(static_cast<unsigned char>(c)) || c == '-';
                           });
  const std::string path = staging_dir_ + "/" + id + kSuffix;
  struct stat st;
  if (!well_formed || ::stat(path.c_str(), &st) != 0) {
    return Status(ErrorCode::kResourceNotFoundException, "No staged backup " + id + ".");
  }
  return path;
}

Result<json::object> BackupMaker::Stage() {
  COFFER_RETURN_IF_ERROR(MakeDir(staging_dir_));
  PruneStaging();
  const std::string id = NewUuid();
  const std::string path = staging_dir_ + "/" + id + kSuffix;
  auto header = Create(path);
  RecordOutcome(id, "", header.status(), header.ok() ? &*header : nullptr);
  if (!header.ok()) return header.status();
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return IoError("cannot stat " + path);
  return json::object{{"BackupId", id},
                      {"Bytes", static_cast<int64_t>(st.st_size)},
                      {"Secrets", header->secrets},
                      {"Parameters", header->parameters},
                      {"CreatedMs", header->created_ms}};
}

Result<json::object> BackupMaker::ReadPart(const std::map<std::string, std::string>& query) {
  auto id = query.find("BackupId");
  auto offset_text = query.find("Offset");
  if (id == query.end()) {
    return Status(ErrorCode::kInvalidParameterException, "BackupId is required.");
  }
  int64_t offset = 0;
  if (offset_text != query.end()) {
    char* end = nullptr;
    errno = 0;
    offset = std::strtoll(offset_text->second.c_str(), &end, 10);
    if (offset_text->second.empty() || *end != '\0' || errno != 0 || offset < 0) {
      return Status(ErrorCode::kInvalidParameterException, "Offset must be a byte offset.");
    }
  }
  COFFER_ASSIGN_OR_RETURN(std::string path, StagedPath(id->second));
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return IoError("cannot open " + path);
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    return IoError("cannot stat " + path);
  }
  const int64_t size = st.st_size;
  const int64_t want = std::clamp<int64_t>(size - offset, 0, kMaxPartBytes);
  std::string data(static_cast<size_t>(want), '\0');
  int64_t got = 0;
  while (got < want) {
    ssize_t n = ::pread(fd, data.data() + got, static_cast<size_t>(want - got), offset + got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += n;
  }
  ::close(fd);
  data.resize(static_cast<size_t>(got));
  return json::object{{"Data", crypto::Base64Encode(data)}, {"Offset", offset}, {"Bytes", size}};
}

Result<json::object> BackupMaker::Drop(const json::object& body) {
  const json::value* id = body.if_contains("BackupId");
  if (id == nullptr || !id->is_string()) {
    return Status(ErrorCode::kInvalidParameterException, "BackupId is required.");
  }
  COFFER_ASSIGN_OR_RETURN(std::string path, StagedPath(std::string(id->get_string())));
  ::unlink(path.c_str());
  return json::object{};
}

Result<json::object> BackupMaker::Handle(std::string_view method, std::string_view path,
                                         const std::map<std::string, std::string>& query,
                                         const json::object& body) {
  if (path == "/coffer/backups" && method == "POST") return Stage();
  if (path == "/coffer/backups/part" && method == "GET") return ReadPart(query);
  if (path == "/coffer/backups/delete" && method == "POST") return Drop(body);
  return Status(ErrorCode::kMethodNotAllowed, "Use POST to make a backup, GET to fetch a part.");
}

void BackupMaker::PruneStaging(std::chrono::milliseconds older_than) {
  const auto now = std::chrono::system_clock::now();
  for (const std::string& name : ListDir(staging_dir_)) {
    const std::string path = staging_dir_ + "/" + name;
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) continue;
    const auto modified = std::chrono::system_clock::from_time_t(st.st_mtime);
    if (now - modified >= older_than) ::unlink(path.c_str());
  }
}

Status BackupMaker::RunScheduledIfDue(const ScheduleOptions& options) {
  if (Status made = MakeDir(options.dir); !made.ok()) {
    RecordOutcome("", options.dir, made, nullptr);
    return made;
  }
  std::vector<std::string> existing;
  for (const std::string& entry : ListDir(options.dir)) {
    if (entry.rfind(kScheduledPrefix, 0) == 0 && EndsWith(entry, kSuffix)) {
      existing.push_back(entry);
    }
  }
  if (!existing.empty()) {
    // The newest backup's time, from its name (the clock's time when it was made).
    const std::string newest = *std::max_element(existing.begin(), existing.end());
    const auto made = ParseAmzDate(std::string_view(newest).substr(
        std::strlen(kScheduledPrefix),
        newest.size() - std::strlen(kScheduledPrefix) - std::strlen(kSuffix)));
    if (made && clock_->NowMillis() - *made < options.interval.count()) return Status::Ok();
  }
  // coffer-backup-20261207T041500Z.cbk: names sort as times do.
  const std::string name = kScheduledPrefix + FormatAmzDate(clock_->NowMillis()) + kSuffix;
  const std::string path = options.dir + "/" + name;
  auto header = Create(path);
  RecordOutcome(name, path, header.status(), header.ok() ? &*header : nullptr);
  if (!header.ok()) return header.status();
  std::vector<std::string> kept;
  for (const std::string& entry : ListDir(options.dir)) {
    if (entry.rfind(kScheduledPrefix, 0) == 0 && EndsWith(entry, kSuffix)) kept.push_back(entry);
  }
  std::sort(kept.begin(), kept.end());
  const size_t retain = static_cast<size_t>(std::max(1, options.retain));
  for (size_t i = 0; i + retain < kept.size(); ++i) {
    ::unlink((options.dir + "/" + kept[i]).c_str());
  }
  return Status::Ok();
}

void BackupMaker::RecordOutcome(const std::string& job_id, const std::string& path,
                                const Status& outcome, const BackupHeader* header) {
  if (outcome.ok()) {
    completed_.fetch_add(1, std::memory_order_relaxed);
    last_success_ms_.store(clock_->NowMillis(), std::memory_order_relaxed);
    last_bytes_.store(header->snapshot_bytes, std::memory_order_relaxed);
  } else {
    failed_.fetch_add(1, std::memory_order_relaxed);
  }
  // The event's shape follows AWS Backup's "Backup Job State Change"
  // (https://docs.aws.amazon.com/aws-backup/latest/devguide/eventbridge.html).
  json::object detail{{"backupJobId", job_id},
                      {"state", outcome.ok() ? "COMPLETED" : "FAILED"},
                      {"resourceType", "coffer"},
                      {"creationDate", FormatIso8601(clock_->NowMillis())}};
  if (!path.empty()) detail["backupPath"] = path;
  if (header != nullptr) {
    detail["backupSizeInBytes"] = std::to_string(header->snapshot_bytes);
    detail["secrets"] = header->secrets;
    detail["parameters"] = header->parameters;
  } else {
    detail["statusMessage"] = outcome.message();
  }
  EventRow e;
  e.time_ms = clock_->NowMillis();
  e.account = operator_account_;
  e.region = kDeploymentEventRegion;
  e.source = "aws.backup";
  e.detail_type = "Backup Job State Change";
  e.resources = "[]";
  e.detail = json::serialize(detail);
  (void)store_->Write([&](StoreWriter& w) { return w.events().Append(e); });
}

std::string BackupMaker::PrometheusText() const {
  return "# HELP coffer_backups_completed_total Backups made (scheduled and on request).\n"
         "# TYPE coffer_backups_completed_total counter\n"
         "coffer_backups_completed_total " +
         std::to_string(completed_.load(std::memory_order_relaxed)) +
         "\n# HELP coffer_backups_failed_total Backups that failed.\n"
         "# TYPE coffer_backups_failed_total counter\n"
         "coffer_backups_failed_total " +
         std::to_string(failed_.load(std::memory_order_relaxed)) +
         "\n# HELP coffer_backup_last_success_timestamp_seconds When the last backup was made "
         "(0: none since start).\n"
         "# TYPE coffer_backup_last_success_timestamp_seconds gauge\n"
         "coffer_backup_last_success_timestamp_seconds " +
         std::to_string(last_success_ms_.load(std::memory_order_relaxed) / 1000) +
         "\n# HELP coffer_backup_last_size_bytes The last backup's store snapshot size.\n"
         "# TYPE coffer_backup_last_size_bytes gauge\n"
         "coffer_backup_last_size_bytes " +
         std::to_string(last_bytes_.load(std::memory_order_relaxed)) + "\n";
}

}  // namespace coffer::backup
