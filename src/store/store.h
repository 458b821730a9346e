// Store: coffer's durable state behind one small interface.
//
// Services never see SQL. They run a function inside a read or write transaction and take from
// it the per-domain views they use (secrets(), parameters(), kms(), ...; each declared with its
// row types and error contract in its own header). Engines (SQLite embedded: store/sqlite/;
// PostgreSQL: store/postgres/) implement every view and guarantee:
//  - Write() is serialisable and durable: once it returns OK the change survives kill -9.
//  - Read() sees a consistent snapshot.
//  - Changes() counts every write acknowledged before it was called, by any process serving
//    the store (several nodes share a PostgreSQL store), so caches tagged with it are coherent.
//  - Values stored here are already sealed (keyring/keyring.h); metadata is stored in clear.
// Thread-safety: Read and Write may be called from any thread concurrently; a transaction and
// its views belong to the thread running the function and must not escape it.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/status.h"
#include "store/alarms.h"
#include "store/cluster.h"
#include "store/credentials.h"
#include "store/deployment.h"
#include "store/events.h"
#include "store/iam.h"
#include "store/kms_keys.h"
#include "store/notifications.h"
#include "store/parameters.h"
#include "store/rotation.h"
#include "store/secrets.h"

namespace coffer {

// A read-only transaction: a consistent snapshot of every domain.
class StoreReader {
 public:
  virtual ~StoreReader() = default;
  virtual DeploymentReader& deployment() = 0;
  virtual SecretsReader& secrets() = 0;
  virtual ParametersReader& parameters() = 0;
  virtual KmsKeysReader& kms() = 0;
  virtual IamReader& iam() = 0;
  virtual CredentialsReader& credentials() = 0;
  virtual RotationReader& rotation() = 0;
  virtual EventsReader& events() = 0;
  virtual AlarmsReader& alarms() = 0;
  virtual NotificationsReader& notifications() = 0;
};

// A write transaction: the same views, writable. All or nothing: see Store::Write.
class StoreWriter : public StoreReader {
 public:
  DeploymentWriter& deployment() override = 0;
  SecretsWriter& secrets() override = 0;
  ParametersWriter& parameters() override = 0;
  KmsKeysWriter& kms() override = 0;
  IamWriter& iam() override = 0;
  CredentialsWriter& credentials() override = 0;
  RotationWriter& rotation() override = 0;
  EventsWriter& events() override = 0;
  AlarmsWriter& alarms() override = 0;
  NotificationsWriter& notifications() override = 0;
};

// What a store snapshot (Store::SnapshotTo) holds, for the header of the backup made of it.
struct StoreSnapshotInfo {
  std::string engine;      // "sqlite"
  int schema_version = 0;  // the snapshot's schema version
  int64_t secrets = 0;     // secrets of every account (those scheduled for deletion included)
  int64_t parameters = 0;  // parameters of every account
};

// The store's writes, counted. Read caches tag an entry with the count it was read at and use
// it while the count is unchanged.
struct ChangeCounts {
  uint64_t writes = 0;           // every committed Write and WriteIdentity
  uint64_t identity_writes = 0;  // the WriteIdentity ones
};

class Store {
 public:
  virtual ~Store() = default;

  // Runs fn in a read-only snapshot. Returns fn's status (or a store failure).
  virtual Status Read(const std::function<Status(StoreReader&)>& fn) = 0;
  // Runs fn in a write transaction: committed durably if fn returns OK, rolled back otherwise.
  Status Write(const std::function<Status(StoreWriter&)>& fn) { return WriteCounted(fn, false); }
  // A Write that changes who may do what (IAM users, roles, groups, policies, access keys):
  // caches of identities (credentials, compiled identity policies) miss once it committed, on
  // every node.
  Status WriteIdentity(const std::function<Status(StoreWriter&)>& fn) {
    return WriteCounted(fn, true);
  }
  // Runs fn in a write transaction over the nodes' coordination rows (store/cluster.h). Counts
  // nothing: no cache holds these rows.
  virtual Status Coordinate(const std::function<Status(ClusterView&)>& fn) = 0;

  // The counts as of now: every write acknowledged before this call, by this process or another
  // serving the store, is counted. A shared engine reads them from the database, so within a
  // ChangeCountsPin on the calling thread they are read once and kept.
  ChangeCounts Changes() const;
  uint64_t CommittedWrites() const { return Changes().writes; }
  uint64_t IdentityWrites() const { return Changes().identity_writes; }
  // Whether other processes may serve this store at the same time (PostgreSQL), so that what
  // one process counts in memory is not what the deployment served (monitoring/alarms.h).
  bool Shared() const { return ChangesAreShared(); }
  // For a shared store: calls `done`, on the store's reading thread, with counts read by a read
  // issued after this call, without holding the calling thread while they are read (an I/O
  // thread serves other connections meanwhile). Callers waiting at once share one read. Every
  // `done` is called, also when the counts cannot be read (then with UnknownChanges()).
  // Returns false, and never calls `done`, for a store of one process: use Changes().
  bool ReadChangesThen(std::function<void(ChangeCounts)> done) const;

  // Writes a consistent copy of the whole store, as of one moment, to the new file `path`,
  // while reads and writes go on (a backup encrypts it). Errors: InternalFailure when the
  // engine cannot, or the copy fails (no file is left behind then).
  virtual Result<StoreSnapshotInfo> SnapshotTo(const std::string& path) {
    (void)path;
    return Status(ErrorCode::kInternalFailure, "this store engine takes no snapshots");
  }

  // Why the store cannot write at the moment (disk full, read-only, I/O errors), or empty when
  // its last write succeeded. Writes that fail so return ServiceUnavailable; reads go on.
  virtual std::string WriteProblem() const { return {}; }
  // Prometheus text for the store's own counters (failed writes by reason).
  virtual std::string PrometheusText() const { return {}; }

 protected:
  virtual Status WriteCounted(const std::function<Status(StoreWriter&)>& fn, bool identity) = 0;
  // The counts, read afresh. An engine that cannot read them returns UnknownChanges().
  virtual ChangeCounts ReadChanges() const = 0;
  // Whether ReadChanges() is a round trip to a database shared with other nodes: concurrent
  // requests then share reads (see Changes()) instead of each making its own.
  virtual bool ChangesAreShared() const { return false; }
  // Counts no cache entry carries (new at every call), so that every cache misses.
  static ChangeCounts UnknownChanges();
  // An engine calls this once a write committed on the calling thread: a pin there reads the
  // counts again at its next use, so the request sees its own write.
  void Committed() const;
  // A shared engine calls this first in its destructor: ReadChangesThen's thread calls
  // ReadChanges, so it must end while the engine is whole. Calls what waits first.
  void StopChangesReader();

 private:
  friend class ChangeCountsPin;
  // Shared reads of the counts. A caller takes a ticket (the number of reads started so far)
  // when its request begins; any read started after that — one that was issued later — counts
  // every write acknowledged before the request began, so it may serve the caller. One read is
  // in flight at a time, and each serves every caller that was waiting when it started.
  uint64_t ChangesTicket() const;
  ChangeCounts ChangesSince(uint64_t ticket) const;
  // ReadChangesThen's thread: each read serves the callers that were waiting when it started.
  void ReadForWaiters() const;
  void Publish(uint64_t number, const ChangeCounts& counts) const;  // under mu
  struct SharedReads {
    std::mutex mu;
    std::condition_variable done;
    uint64_t started = 0;    // reads started
    uint64_t published = 0;  // the number of the latest read whose counts are in `counts`
    bool in_flight = false;  // a read of ChangesSince's
    ChangeCounts counts;
    // ReadChangesThen's callers, and the thread that reads for them.
    std::vector<std::function<void(ChangeCounts)>> waiters;
    std::condition_variable wake;
    std::thread reader;
    bool stopping = false;
  };
  mutable SharedReads shared_reads_;
};

// Keeps the store's change counts for the calling thread while it serves one request: the
// caches it consults cost one read of the counts, not one each (and concurrent requests share
// the reads of a shared store's counts). Sound because every read a request uses was issued
// after the request began, so it counts every write acknowledged before then. The counts are
// read at their first use, and again after the request writes. Pins do not nest: an inner one
// is a no-op.
class ChangeCountsPin {
 public:
  explicit ChangeCountsPin(const Store* store);
  // With counts already read for this request (Store::ReadChangesThen, called as it began).
  ChangeCountsPin(const Store* store, const ChangeCounts& counts);
  ~ChangeCountsPin();
  ChangeCountsPin(const ChangeCountsPin&) = delete;
  ChangeCountsPin& operator=(const ChangeCountsPin&) = delete;

 private:
  bool owner_ = false;
};

}  // namespace coffer
