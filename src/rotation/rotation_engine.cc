#include "rotation/rotation_engine.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>

#include "audit/cloudtrail_record.h"
#include "audit/trail_rows.h"
#include "core/arn.h"
#include "core/ascii.h"
#include "core/ids.h"
#include "core/time_format.h"
#include "crypto/crypto.h"
#include "net/http_client.h"
#include "services/secrets/rotation_rules.h"

namespace coffer::rotation {
namespace json = boost::json;
namespace {

constexpr size_t kMaxCapturedOutput = 64 * 1024;
// A run's lease outlasts the longest step (a function's timeout is at most 900 s); it is
// renewed as each step is recorded, so only a holder that died lets it lapse.
constexpr EpochMillis kLeaseMs = 20 * 60 * 1000;
const char* const kSteps[] = {"createSecret", "setSecret", "testSecret", "finishSecret"};

std::string NextStep(const std::string& step) {
  for (size_t i = 0; i + 1 < std::size(kSteps); ++i) {
    if (step == kSteps[i]) return kSteps[i + 1];
  }
  return "";
}

// Secrets Manager as the function's execution role: the same operations, the same
// authorization, called in-process, and recorded in the trail as the function's calls to
// Secrets Manager are in CloudTrail (with the KMS calls they make on its behalf). A call is
// answered only once its record is durable; failing closed, none acts while the trail cannot be
// written.
class InProcessSecretsClient final : public SecretsClient {
 public:
  InProcessSecretsClient(secrets::SecretsService* secrets, RequestContext ctx, const Clock* clock,
                         audit::AuditTrail* trail, bool exclude_kms_events, std::string user_agent)
      : secrets_(secrets),
        ctx_(std::move(ctx)),
        clock_(clock),
        trail_(trail),
        exclude_kms_events_(exclude_kms_events),
        user_agent_(std::move(user_agent)) {}

  Result<json::object> Call(std::string_view operation, const json::object& input) override {
    RequestContext ctx = ctx_;
    ctx.request_id = NewUuid();
    ctx.now = clock_->NowMillis();
    AuthorizationLog authorization;
    ctx.authorization = &authorization;
    if (trail_ != nullptr && !trail_->accepting()) {
      return Status(ErrorCode::kServiceUnavailable, audit::kTrailUnavailableMessage);
    }
    Result<json::object> out = secrets_->Handle(operation, ctx, input);
    if (trail_ == nullptr) return out;
    for (auto& row : audit::OnBehalfRows(ctx, authorization, exclude_kms_events_)) {
      (void)trail_->Append(std::move(row));  // written before the call's own record
    }
    audit::ApiCall c = audit::CallOf(ctx, "secretsmanager.amazonaws.com", operation, &input,
                                     out.ok() ? &out.value() : nullptr,
                                     out.ok() ? Status::Ok() : out.status(), authorization);
    c.user_agent = user_agent_;
    if (!trail_->AppendAndWait(audit::ApiCallRow(c)).ok() &&
        trail_->on_failure() == audit::OnFailure::kClosed) {
      return Status(ErrorCode::kServiceUnavailable, audit::kCallUnrecordedMessage);
    }
    return out;
  }

 private:
  secrets::SecretsService* secrets_;
  RequestContext ctx_;
  const Clock* clock_;
  audit::AuditTrail* trail_;
  const bool exclude_kms_events_;
  const std::string user_agent_;
};

// The members of a JSON secret worth hiding: those named like credentials, and any long value.
// Short identifying members (engine, host, port, dbname, username) stay readable in errors.
void CollectStrings(const json::value& v, bool sensitive_name, std::vector<std::string>* out) {
  if (v.is_string()) {
    if (sensitive_name || v.get_string().size() >= 16) out->emplace_back(v.get_string());
  } else if (v.is_object()) {
    for (const auto& [k, x] : v.get_object()) {
      const std::string name = AsciiLower(k);
      bool secretish = false;
      for (const char* word : {"pass", "secret", "key", "token", "credential", "private", "pwd"}) {
        if (name.find(word) != std::string::npos) secretish = true;
      }
      CollectStrings(x, secretish, out);
    }
  } else if (v.is_array()) {
    for (const auto& x : v.get_array()) CollectStrings(x, sensitive_name, out);
  }
}

}  // namespace

RotationEngine::RotationEngine(Store* store, Keyring* keyring, secrets::SecretsService* secrets,
                               sts::StsService* sts, const Authorizer* authorizer,
                               const Clock* clock, EngineOptions options)
    : store_(store),
      keyring_(keyring),
      secrets_(secrets),
      sts_(sts),
      authorizer_(authorizer),
      clock_(clock),
      options_(std::move(options)) {
  if (options_.holder_id.empty()) options_.holder_id = NewUuid();
  const int workers = std::max(1, options_.max_concurrent);
  idle_workers_ = workers;  // counted before they start, so a first pass finds them
  for (int i = 0; i < workers; ++i) workers_.emplace_back([this] { Work(); });
}

RotationEngine::~RotationEngine() { Stop(); }

void RotationEngine::Stop() {
  {
    std::lock_guard lock(pool_mu_);
    if (stopping_.exchange(true)) {
      if (workers_.empty()) return;
    }
  }
  pool_cv_.notify_all();
  for (auto& t : workers_) {
    if (t.joinable()) t.join();
  }
  workers_.clear();
}

void RotationEngine::Work() {
  std::unique_lock lock(pool_mu_);
  while (true) {
    pool_cv_.wait(lock, [&] { return stopping_.load() || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, and nothing was handed over
    auto task = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    task();  // a run handed over while stopping is abandoned quickly: its function is killed
    lock.lock();
  }
}

void RotationEngine::Submit(std::vector<RotationRunRow> runs,
                            std::function<void(const Result<int>&)> done) {
  std::lock_guard lock(pool_mu_);
  for (auto& run : runs) {
    queue_.push_back([this, run = std::move(run), done] {
      Result<int> steps = Run(run);
      {
        // Idle again before anyone hears the run is over, so the next pass may claim for it.
        std::lock_guard idle(pool_mu_);
        ++idle_workers_;
      }
      if (done) done(steps);
    });
  }
  pool_cv_.notify_all();
}

void RotationEngine::RegisterBuiltin(const std::string& name, BuiltinFactory factory) {
  builtins_[name] = std::move(factory);
}

bool RotationEngine::FunctionExists(const std::string& lambda_arn) {
  std::string account, region, name;
  if (!ParseFunctionArn(lambda_arn, &account, &region, &name)) return false;
  std::optional<RotationFunctionRow> row;
  Status s = store_->Read([&](StoreReader& r) -> Status {
    COFFER_ASSIGN_OR_RETURN(row, r.rotation().FindFunction(account, region, name));
    return Status::Ok();
  });
  return s.ok() && row.has_value();
}

void RotationEngine::RecordInvoke(const RotationRunRow& run, const RotationFunctionRow& function) {
  if (trail_ == nullptr) return;
  // As CloudTrail records Secrets Manager invoking a rotation function: a Lambda data event by
  // the service itself.
  // https://docs.aws.amazon.com/lambda/latest/dg/logging-using-cloudtrail.html
  const std::string function_arn =
      "arn:aws:lambda:" + function.region + ":" + function.account + ":function:" + function.name;
  const json::object request{{"FunctionName", function_arn}, {"InvocationType", "RequestResponse"}};
  audit::ApiCall call;
  call.event_source = "lambda.amazonaws.com";
  call.event_name = "Invoke";
  call.region = run.region;
  call.time_ms = clock_->NowMillis();
  call.principal.type = PrincipalType::kAwsService;
  call.principal.account = function.account;
  call.invoked_by = "secretsmanager.amazonaws.com";
  call.request_id = NewUuid();
  call.event_id = NewTimeOrderedUuid(call.time_ms);
  call.recipient_account = function.account;
  call.request = &request;
  call.resources.push_back({"AWS::Lambda::Function", function_arn});
  call.data_event = true;
  (void)trail_->Append(audit::ApiCallRow(call));  // queued; no caller waits on it
}

void RotationEngine::Event(const RotationRunRow& run, const std::string& name,
                           const std::string& step, const std::string& error) {
  {
    std::lock_guard lock(counts_mu_);
    ++counts_[name];
  }
  json::object details{{"step", step}, {"clientRequestToken", run.token}};
  if (!error.empty()) details["error"] = error;
  audit::ServiceEvent event;
  event.event_source = "secretsmanager.amazonaws.com";
  event.event_name = name;
  event.account = run.account;
  event.region = run.region;
  event.time_ms = clock_->NowMillis();
  // As Secrets Manager names a rotation's requests: Rotation-<secret ARN>-<version id>.
  event.request_id = "Rotation-" + run.secret_arn + "-" + run.token;
  event.event_id = NewTimeOrderedUuid(event.time_ms);
  event.error_message = error;
  event.additional_event_data = json::object{{"SecretId", run.secret_arn}};
  event.service_event_details = std::move(details);
  json::object detail = audit::ServiceEventRecord(event);
  if (trail_ != nullptr) {
    AuditRow row = audit::ServiceEventRow(event);
    row.resources.push_back({"AWS::SecretsManager::Secret", run.secret_arn});
    (void)trail_->Append(std::move(row));  // queued; no caller waits on a service event
  }
  EventRow e;
  e.time_ms = clock_->NowMillis();
  e.account = run.account;
  e.region = run.region;
  e.source = "aws.secretsmanager";
  e.detail_type = "AWS Service Event via CloudTrail";
  e.resources = json::serialize(json::array{json::string(run.secret_arn)});
  e.detail = json::serialize(detail);
  (void)store_->Write([&](StoreWriter& w) -> Status { return w.events().Append(e); });
}

std::vector<std::string> RotationEngine::SensitiveValues(const RotationRunRow& run) {
  std::vector<std::string> out;
  // Secrets Manager reading the secret for itself, to know what to redact.
  const RequestContext ctx = SystemContext(Scope{run.account, run.region}, clock_->NowMillis(),
                                           "secretsmanager.amazonaws.com");
  for (const char* stage : {"AWSCURRENT", "AWSPENDING", "AWSPREVIOUS"}) {
    auto v = secrets_->Handle("GetSecretValue", ctx,
                              json::object{{"SecretId", run.secret_arn}, {"VersionStage", stage}});
    if (!v.ok()) continue;
    if (auto* s = v->if_contains("SecretString"); s && s->is_string()) {
      out.emplace_back(s->get_string());
      boost::system::error_code ec;
      json::value parsed = json::parse(s->get_string(), ec);
      if (!ec) CollectStrings(parsed, false, &out);
    }
    if (auto* b = v->if_contains("SecretBinary"); b && b->is_string()) {
      auto raw = crypto::Base64Decode(std::string_view(b->get_string()));
      if (raw) out.push_back(std::move(*raw));
    }
  }
  std::vector<std::string> encoded;
  for (const auto& value : out) {
    for (auto& e : EncodingsOf(value)) encoded.push_back(std::move(e));
    OPENSSL_cleanse(const_cast<char*>(value.data()), value.size());
  }
  // Longest first, so a value is removed before any shorter value inside it.
  std::sort(encoded.begin(), encoded.end(),
            [](const auto& a, const auto& b) { return a.size() > b.size(); });
  return encoded;
}

Result<sts::StsService::IssuedCredentials> RotationEngine::RoleCredentials(
    const RotationFunctionRow& function) {
  if (function.role_arn.empty()) {
    return Status(ErrorCode::kAccessDenied,
                  "The function has no execution role; register it again with --role-arn.");
  }
  return sts_->IssueRoleSession(function.role_arn, function.account, kLambdaPrincipal,
                                function.name, clock_->NowMillis(),
                                std::max<int64_t>(900, function.timeout_seconds + 60));
}

RotationEngine::Outcome RotationEngine::RunExec(const RotationFunctionRow& function,
                                                const StepEvent& event) {
  Outcome out;
  boost::system::error_code ec;
  json::value config = json::parse(function.config, ec);
  const json::array* command = nullptr;
  if (!ec && config.is_object()) {
    if (auto* c = config.get_object().if_contains("Command"); c && c->is_array()) {
      command = &c->get_array();
    }
  }
  if (command == nullptr || command->empty()) {
    out.status = Status(ErrorCode::kInternalFailure, "the exec function has no Command");
    return out;
  }
  ProcessSpec spec;
  for (const auto& a : *command) {
    if (!a.is_string()) {
      out.status = Status(ErrorCode::kInternalFailure, "Command must be a list of strings");
      return out;
    }
    spec.argv.emplace_back(a.get_string());
  }
  // Credentials of the execution role, as Lambda provides them.
  auto creds = RoleCredentials(function);
  if (!creds.ok()) {
    out.status = creds.status();
    return out;
  }
  spec.env = {"PATH=/usr/local/bin:/usr/bin:/bin",
              "AWS_REGION=" + function.region,
              "AWS_DEFAULT_REGION=" + function.region,
              "AWS_ENDPOINT_URL=" + options_.endpoint,
              "SECRETS_MANAGER_ENDPOINT=" + options_.endpoint,
              "AWS_LAMBDA_FUNCTION_NAME=" + function.name,
              "AWS_LAMBDA_FUNCTION_TIMEOUT=" + std::to_string(function.timeout_seconds),
              "AWS_CONFIG_FILE=/dev/null",
              "AWS_SHARED_CREDENTIALS_FILE=/dev/null",
              "AWS_EC2_METADATA_DISABLED=true",
              "PYTHONDONTWRITEBYTECODE=1",
              "AWS_ACCESS_KEY_ID=" + creds->access_key_id,
              "AWS_SECRET_ACCESS_KEY=" + std::string(creds->secret_access_key.Reveal()),
              "AWS_SESSION_TOKEN=" + std::string(creds->session_token.Reveal())};
  if (options_.exec_user) {
    spec.run_as = options_.exec_user;
    spec.env.push_back("HOME=" + options_.exec_user->home);
  } else if (const char* home = std::getenv("HOME")) {
    spec.env.push_back(std::string("HOME=") + home);
  }
  if (!ec && config.is_object()) {
    if (auto* e = config.get_object().if_contains("Environment"); e && e->is_object()) {
      for (const auto& [k, v] : e->get_object()) {
        if (v.is_string()) spec.env.push_back(std::string(k) + "=" + std::string(v.get_string()));
      }
    }
  }
  spec.input = json::serialize(json::object{{"Step", event.step},
                                            {"SecretId", event.secret_arn},
                                            {"ClientRequestToken", event.token},
                                            {"RotationToken", event.rotation_token}});
  spec.timeout = std::chrono::seconds(function.timeout_seconds);
  spec.max_output = kMaxCapturedOutput;
  spec.stop = &stopping_;
  auto ran = RunProcess(std::move(spec));
  if (!ran.ok()) {
    out.status = ran.status();
    return out;
  }
  out.log = std::move(ran->output);
  if (ran->timed_out) {
    out.status =
        Status(ErrorCode::kInternalFailure, "the rotation function timed out after " +
                                                std::to_string(function.timeout_seconds) + " s");
  } else if (ran->stopped) {
    out.status = Status(ErrorCode::kInternalFailure,
                        "the rotation function was stopped: coffer is "
                        "shutting down");
  } else if (!ran->exited || ran->exit_status != 0) {
    out.status = Status(ErrorCode::kInternalFailure, "the rotation function failed (exit status " +
                                                         std::to_string(ran->exit_status) + ")");
  }
  return out;
}

// POSTs the Lambda event, with the execution role's credentials and coffer's endpoint, to the
// function's URL; the receiver verifies X-Coffer-Signature (t=<unix seconds>,v1=<hex
// HMAC-SHA256 of "<t>.<body>" under the key returned at registration). A 2xx answer is success.
RotationEngine::Outcome RotationEngine::RunHttp(const RotationFunctionRow& function,
                                                const StepEvent& event) {
  Outcome out;
  boost::system::error_code ec;
  json::value config = json::parse(function.config, ec);
  std::string url_text;
  if (!ec && config.is_object()) {
    if (auto* u = config.get_object().if_contains("Url"); u && u->is_string()) {
      url_text = std::string(u->get_string());
    }
  }
  auto url = net::ParseUrl(url_text);
  if (!url.ok()) {
    out.status = url.status();
    return out;
  }
  const auto& allowed = options_.allowed_http_hosts;
  if (!net::IsLoopbackHost(url->host) &&
      std::find(allowed.begin(), allowed.end(), url->host) == allowed.end()) {
    out.status = Status(ErrorCode::kAccessDeniedException,
                        "rotation functions may only be on loopback or on hosts the server "
                        "allows (--rotation-http-host): " +
                            url->host);
    return out;
  }
  json::object body{{"Step", event.step},
                    {"SecretId", event.secret_arn},
                    {"ClientRequestToken", event.token},
                    {"RotationToken", event.rotation_token},
                    {"Endpoint", options_.endpoint},
                    {"Region", function.region}};
  {
    auto creds = RoleCredentials(function);
    if (!creds.ok()) {
      out.status = creds.status();
      return out;
    }
    body["Credentials"] = json::object{{"AccessKeyId", creds->access_key_id},
                                       {"SecretAccessKey", creds->secret_access_key.Reveal()},
                                       {"SessionToken", creds->session_token.Reveal()}};
  }
  auto key = keyring_->UnwrapWithStorageKey(
      SigningKeyPurpose(function.account, function.region, function.name),
      function.wrapped_signing_key);
  if (!key.ok()) {
    out.status = key.status();
    return out;
  }
  net::HttpCall call;
  call.method = "POST";
  call.target = url->path;
  call.body = json::serialize(body);
  call.timeout = std::chrono::seconds(function.timeout_seconds);
  call.cancel = &stopping_;
  const std::string t = std::to_string(clock_->NowMillis() / 1000);
  call.headers = {{"content-type", "application/json"},
                  {"x-coffer-signature",
                   "t=" + t + ",v1=" +
                       crypto::HexLower(crypto::HmacSha256(key->Reveal(), t + "." + call.body))}};
  auto reply = net::Send(*url, call);
  OPENSSL_cleanse(call.body.data(), call.body.size());
  if (!reply.ok()) {
    out.status = reply.status();
    return out;
  }
  out.log = reply->body.substr(0, kMaxCapturedOutput);
  if (reply->status < 200 || reply->status > 299) {
    out.status = Status(ErrorCode::kInternalFailure,
                        "the rotation function answered HTTP " + std::to_string(reply->status));
  }
  return out;
}

RotationEngine::Outcome RotationEngine::RunStep(const RotationRunRow& run,
                                                const RotationFunctionRow& function,
                                                const StepEvent& event) {
  if (function.kind == RotationFunctionKind::kExec) return RunExec(function, event);
  if (function.kind == RotationFunctionKind::kHttp) return RunHttp(function, event);
  Outcome out;
  boost::system::error_code ec;
  json::value config = json::parse(function.config, ec);
  std::string builtin;
  if (!ec && config.is_object()) {
    if (auto* b = config.get_object().if_contains("Builtin"); b && b->is_string()) {
      builtin = std::string(b->get_string());
    }
  }
  auto it = builtins_.find(builtin);
  if (it == builtins_.end()) {
    out.status = Status(ErrorCode::kInternalFailure, "no built-in rotator named '" + builtin + "'");
    return out;
  }
  // The function acts as its execution role, authorized like any caller.
  RequestContext ctx;
  ctx.scope = Scope{run.account, run.region};
  ctx.now = clock_->NowMillis();
  ctx.authorizer = authorizer_;
  ctx.source_ip = "secretsmanager.amazonaws.com";
  ctx.principal.account = run.account;
  if (function.role_arn.empty()) {
    ctx.principal.arn = "arn:aws:iam::" + run.account + ":root";
    ctx.principal.user_id = run.account;
    ctx.principal.type = PrincipalType::kRoot;
  } else {
    // As for the other kinds: still a role of the function's account that trusts Lambda.
    std::optional<IamEntityRow> role;
    Status trusted = store_->Read([&](StoreReader& r) -> Status {
      COFFER_ASSIGN_OR_RETURN(
          role, sts::ServiceMayAssumeRole(r, function.role_arn, function.account, kLambdaPrincipal,
                                          ErrorCode::kAccessDenied));
      return Status::Ok();
    });
    if (!trusted.ok()) {
      out.status = trusted;
      return out;
    }
    ctx.principal.arn =
        "arn:aws:sts::" + run.account + ":assumed-role/" + role->name + "/" + function.name;
    ctx.principal.user_id = role->id + ":" + function.name;
    ctx.principal.type = PrincipalType::kAssumedRole;
    ctx.principal.role_arn = role->arn;
    ctx.principal.role_name = role->name;
  }
  InProcessSecretsClient client(secrets_, ctx, clock_, trail_, exclude_kms_events_,
                                "coffer-rotation-function/" + builtin);
  auto fn = it->second();
  out.status = fn->Invoke(event, client, &out.log);
  return out;
}

std::string RotationEngine::PrometheusText() const {
  std::string out =
      "# HELP coffer_rotation_events_total Rotation events by kind (RotationFailed, ...).\n"
      "# TYPE coffer_rotation_events_total counter\n";
  std::lock_guard lock(counts_mu_);
  for (const auto& [name, n] : counts_) {
    out += "coffer_rotation_events_total{event=\"" + name + "\"} " + std::to_string(n) + "\n";
  }
  return out;
}

// The version a RotateImmediately=false test created goes once the test has run, as in AWS
// ("the test creates an AWSPENDING version of the secret and then removes it").
Status RotationEngine::RemoveTestVersion(const RotationRunRow& run) {
  return store_->Write([&](StoreWriter& w) -> Status {
    COFFER_ASSIGN_OR_RETURN(auto version, w.secrets().GetVersion(run.secret_id, run.token));
    const bool only_pending =
        version &&
        (version->stages.empty() || version->stages == std::vector<std::string>{"AWSPENDING"});
    if (!only_pending) {
      return Status::Ok();
    }
    return w.secrets().DeleteVersion(run.secret_id, run.token);
  });
}

Result<std::vector<RotationRunRow>> RotationEngine::Claim(int limit) {
  const EpochMillis now = clock_->NowMillis();
  std::vector<RotationRunRow> claimed;
  if (limit <= 0) return claimed;
  COFFER_RETURN_IF_ERROR(store_->Write([&](StoreWriter& w) -> Status {
    // Scheduled rotations whose window has begun (or passed, after downtime).
    COFFER_ASSIGN_OR_RETURN(auto due, w.secrets().ListDueForRotation(now, 32));
    for (const auto& s : due) {
      RotationRunRow r;
      r.secret_id = s.id;
      r.secret_arn = s.arn;
      r.account = s.account;
      r.region = s.region;
      r.token = NewUuid();
      r.mode = RotationRunMode::kRotate;
      r.step = kSteps[0];
      r.next_attempt_ms = now;
      r.started_ms = now;
      // The new version exists, labelled AWSPENDING, before createSecret (see RotateSecret).
      SecretVersionRow placeholder;
      placeholder.version_id = r.token;
      placeholder.created_ms = now;
      COFFER_RETURN_IF_ERROR(w.secrets().InsertVersion(s.id, placeholder));
      COFFER_RETURN_IF_ERROR(w.secrets().SetStage(s.id, "AWSPENDING", r.token));
      COFFER_RETURN_IF_ERROR(w.rotation().PutRun(r));
    }
    COFFER_ASSIGN_OR_RETURN(auto runs,
                            w.rotation().ListDueRuns(now, now - options_.holder_silence_ms, limit));
    for (auto& r : runs) {
      r.lease_holder = options_.holder_id;
      r.lease_expires_ms = now + kLeaseMs;
      COFFER_RETURN_IF_ERROR(w.rotation().PutRun(r));
      claimed.push_back(r);
    }
    return Status::Ok();
  }));
  return claimed;
}

Result<int> RotationEngine::RunDue() {
  int free_workers;
  {
    std::lock_guard lock(pool_mu_);
    free_workers = idle_workers_;
    idle_workers_ -= free_workers;  // reserved for what is claimed now
  }
  auto claimed = Claim(free_workers);
  {
    std::lock_guard lock(pool_mu_);
    idle_workers_ += free_workers - (claimed.ok() ? static_cast<int>(claimed->size()) : 0);
  }
  if (!claimed.ok()) return claimed.status();
  std::mutex mu;
  std::condition_variable cv;
  size_t finished = 0;
  int steps = 0;
  Status first_error = Status::Ok();
  const size_t count = claimed->size();
  Submit(std::move(claimed.value()), [&](const Result<int>& r) {
    std::lock_guard lock(mu);
    if (r.ok()) {
      steps += r.value();
    } else if (first_error.ok()) {
      first_error = r.status();
    }
    ++finished;
    cv.notify_all();
  });
  std::unique_lock lock(mu);
  cv.wait(lock, [&] { return finished == count; });
  if (!first_error.ok()) return first_error;
  return steps;
}

Status RotationEngine::Dispatch() {
  if (stopping_) return Status::Ok();
  int free_workers;
  {
    std::lock_guard lock(pool_mu_);
    free_workers = idle_workers_;
    idle_workers_ -= free_workers;
  }
  auto claimed = Claim(free_workers);
  {
    std::lock_guard lock(pool_mu_);
    idle_workers_ += free_workers - (claimed.ok() ? static_cast<int>(claimed->size()) : 0);
  }
  if (!claimed.ok()) return claimed.status();
  Submit(std::move(claimed.value()), [](const Result<int>& r) {
    if (!r.ok())
      std::fprintf(stderr, "coffer: rotation failed: %s\n", r.status().message().c_str());
  });
  return Status::Ok();
}

Result<int> RotationEngine::Run(RotationRunRow run) {
  int steps = 0;
  std::optional<SecretRow> secret;
  std::optional<RotationFunctionRow> function;
  COFFER_RETURN_IF_ERROR(store_->Read([&](StoreReader& r) -> Status {
    COFFER_ASSIGN_OR_RETURN(secret,
                            r.secrets().FindByArn(Scope{run.account, run.region}, run.secret_arn));
    std::string account, region, name;
    // Only a function of the secret's own account and region may rotate it (RotateSecret
    // refuses others; a configuration stored before that rule is refused here).
    if (secret && secret->rotation_lambda_arn &&
        ParseFunctionArn(*secret->rotation_lambda_arn, &account, &region, &name) &&
        account == run.account && region == run.region) {
      COFFER_ASSIGN_OR_RETURN(function, r.rotation().FindFunction(account, region, name));
    }
    return Status::Ok();
  }));
  if (!secret || secret->purge_at_ms || !function) {
    // The secret is gone or its function was removed: nothing can run.
    Event(run, "RotationAbandoned", run.step,
          !secret ? "the secret no longer exists"
                  : "the rotation function is not registered in the secret's account");
    COFFER_RETURN_IF_ERROR(store_->Write(
        [&](StoreWriter& w) -> Status { return w.rotation().DeleteRun(run.secret_id); }));
    return steps;
  }
  const bool test_only = run.mode == RotationRunMode::kTest;
  if (run.attempts == 0 && run.step == (test_only ? "testSecret" : kSteps[0])) {
    Event(run, test_only ? "TestRotationStarted" : "RotationStarted", run.step, "");
  }
  Status failed = Status::Ok();
  std::string last_log;  // the failing step's output, redacted only when it is recorded
  while (!run.step.empty()) {
    StepEvent event{run.step, run.secret_arn, run.token, run.token};
    Outcome outcome = RunStep(run, *function, event);
    RecordInvoke(run, *function);
    ++steps;
    last_log = std::move(outcome.log);
    if (!outcome.status.ok()) {
      failed = outcome.status;
      break;
    }
    if (test_only) {
      run.step.clear();
      break;
    }
    run.step = NextStep(run.step);
    COFFER_RETURN_IF_ERROR(store_->Write([&](StoreWriter& w) -> Status {
      // A CancelRotateSecret meanwhile removed the run, or another node took it over (this one
      // was silent too long): stop without recreating it.
      COFFER_ASSIGN_OR_RETURN(auto current, w.rotation().FindRun(run.secret_id));
      if (!current || current->token != run.token || current->lease_holder != options_.holder_id) {
        run.step.clear();
        run.mode = RotationRunMode::kCancelled;
        return Status::Ok();
      }
      if (run.step.empty()) return Status::Ok();
      run.lease_expires_ms = clock_->NowMillis() + kLeaseMs;
      return w.rotation().PutRun(run);
    }));
  }
  if (run.mode == RotationRunMode::kCancelled) return steps;
  const EpochMillis done = clock_->NowMillis();
  if (failed.ok()) {
    bool recorded = false;
    COFFER_RETURN_IF_ERROR(RecordSuccess(run, done, &failed, &recorded));
    if (!recorded) return steps;  // another node holds the run now, and records it
    if (failed.ok()) {
      if (test_only) {
        COFFER_RETURN_IF_ERROR(RemoveTestVersion(run));
        Event(run, "TestRotationSucceeded", "testSecret", "");
      } else {
        Event(run, "RotationSucceeded", "finishSecret", "");
      }
      return steps;
    }
  }
  if (stopping_) {
    // Not the function's failure: the server is stopping. The run is left for the next
    // process, at the step it was in, with its lease released and no attempt counted.
    run.lease_holder.clear();
    run.lease_expires_ms = 0;
    COFFER_RETURN_IF_ERROR(store_->Write([&](StoreWriter& w) -> Status {
      COFFER_ASSIGN_OR_RETURN(auto current, w.rotation().FindRun(run.secret_id));
      if (!current || current->token != run.token) return Status::Ok();
      return w.rotation().PutRun(run);
    }));
    return steps;
  }
  COFFER_RETURN_IF_ERROR(RecordFailure(std::move(run), failed, std::move(last_log), done));

  return steps;
}

Status RotationEngine::RecordSuccess(const RotationRunRow& run, EpochMillis done, Status* failed,
                                     bool* recorded) {
  return store_->Write([&](StoreWriter& w) -> Status {
    COFFER_ASSIGN_OR_RETURN(auto mine, w.rotation().FindRun(run.secret_id));
    *recorded = mine && mine->token == run.token && mine->lease_holder == options_.holder_id;
    if (!*recorded) return Status::Ok();
    COFFER_RETURN_IF_ERROR(w.rotation().DeleteRun(run.secret_id));
    if (run.mode == RotationRunMode::kTest) return Status::Ok();
    COFFER_ASSIGN_OR_RETURN(auto fresh,
                            w.secrets().FindByArn(Scope{run.account, run.region}, run.secret_arn));
    if (!fresh) return Status::Ok();
    // The rotation is done only if the function moved AWSCURRENT to the new version.
    COFFER_ASSIGN_OR_RETURN(auto current, w.secrets().VersionIdForStage(fresh->id, "AWSCURRENT"));
    if (current != run.token) {
      *failed = Status(ErrorCode::kInternalFailure,
                       "finishSecret returned without moving AWSCURRENT to " + run.token);
      return Status::Ok();
    }
    fresh->last_rotated_ms = done;
    fresh->next_rotation_ms.reset();
    if (fresh->rotation_enabled && fresh->rotation_rules) {
      auto schedule =
          secrets::Schedule::Parse(secrets::RotationRulesFromJson(*fresh->rotation_rules));
      if (schedule.ok()) fresh->next_rotation_ms = schedule->NextWindowStart(done);
    }
    return w.secrets().Update(*fresh);
  });
}

Status RotationEngine::RecordFailure(RotationRunRow run, const Status& failed, std::string last_log,
                                     EpochMillis done) {
  // A failed step: AWSCURRENT has not moved (only finishSecret moves it). Record, back off.
  // What the function printed is kept only as a bounded summary with the secret's values
  // removed in every encoding they are printed in.
  std::vector<std::string> values = SensitiveValues(run);
  const std::string error = ErrorSummary(failed.message(), last_log, values);
  for (auto& v : values) OPENSSL_cleanse(v.data(), v.size());
  OPENSSL_cleanse(last_log.data(), last_log.size());
  if (run.mode == RotationRunMode::kTest) {
    COFFER_RETURN_IF_ERROR(RemoveTestVersion(run));
    Event(run, "TestRotationFailed", run.step, error);
    return store_->Write(
        [&](StoreWriter& w) -> Status { return w.rotation().DeleteRun(run.secret_id); });
  }
  ++run.attempts;
  run.last_error = error;
  run.lease_holder.clear();
  run.lease_expires_ms = 0;
  const bool abandon = run.attempts >= options_.max_attempts;
  run.next_attempt_ms =
      done + options_.base_backoff_ms * (int64_t{1} << std::min<int64_t>(run.attempts - 1, 10));
  Event(run, abandon ? "RotationAbandoned" : "RotationFailed", run.step, error);
  return store_->Write([&](StoreWriter& w) -> Status {
    COFFER_ASSIGN_OR_RETURN(auto current, w.rotation().FindRun(run.secret_id));
    if (!current || current->token != run.token) return Status::Ok();  // cancelled
    if (abandon) return w.rotation().DeleteRun(run.secret_id);
    return w.rotation().PutRun(run);
  });
}

}  // namespace coffer::rotation
