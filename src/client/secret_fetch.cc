#include "client/secret_fetch.h"

#include <openssl/crypto.h>

#include <map>
#include <set>

namespace coffer::client {

namespace json = boost::json;

namespace {

using Service = SecretReference::Service;

std::string RegionOf(const AwsClient& client, const SecretReference& ref) {
  return ref.region.empty() ? client.settings().region : ref.region;
}

std::string Str(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  if (v == nullptr) return "";
  if (v->is_string()) return std::string(v->get_string());
  if (v->is_int64()) return std::to_string(v->get_int64());
  return "";
}

// The distinct Secrets Manager reads: ECS reads each secret version once however many variables
// pick keys from it.
std::string ReadKey(const AwsClient& client, const SecretReference& ref) {
  return ref.secret_id + "\n" + ref.version_stage + "\n" + ref.version_id + "\n" +
         RegionOf(client, ref);
}

json::object GetSecretValueInput(const SecretReference& ref) {
  json::object input{{"SecretId", ref.secret_id}};
  if (!ref.version_stage.empty()) input["VersionStage"] = ref.version_stage;
  if (!ref.version_id.empty()) input["VersionId"] = ref.version_id;
  return input;
}

// A parameter in a GetParameters answer, matched to the name or ARN it was asked by (with a
// version or label selector, the answer's Name has none and Selector holds it).
const json::object* FindParameter(const json::array& parameters, const std::string& asked) {
  for (const auto& p : parameters) {
    if (!p.is_object()) continue;
    const auto& o = p.get_object();
    const std::string name = Str(o, "Name"), arn = Str(o, "ARN"), selector = Str(o, "Selector");
    if (asked == name || asked == arn || asked == name + selector || asked == arn + selector) {
      return &o;
    }
  }
  return nullptr;
}

// GetParameters for `names` in `region`, 10 at a time. Answers each asked name's parameter
// object; `errors` gets ECS's text for a failed batch.
std::map<std::string, json::object> GetParameters(const AwsClient& client,
                                                  const std::vector<std::string>& names,
                                                  const std::string& region, bool decrypt,
                                                  std::vector<std::string>* errors) {
  std::map<std::string, json::object> found;
  for (size_t start = 0; start < names.size(); start += 10) {
    json::array batch;
    for (size_t i = start; i < names.size() && i < start + 10; ++i) batch.emplace_back(names[i]);
    auto reply = client.CallJson("ssm", "AmazonSSM.GetParameters",
                                 {{"Names", batch}, {"WithDecryption", decrypt}}, region);
    const std::string where = "fetching secret data from SSM Parameter Store in " + region + ": ";
    if (!reply.ok()) {
      errors->push_back(where + reply.failure.Text());
      continue;
    }
    json::array parameters, invalid;
    if (auto* p = reply.value->if_contains("Parameters"); p && p->is_array()) {
      parameters = std::move(p->get_array());
    }
    if (auto* i = reply.value->if_contains("InvalidParameters"); i && i->is_array()) {
      invalid = i->get_array();
    }
    if (!invalid.empty()) {
      std::string list;
      for (const auto& name : invalid) {
        list +=
            (list.empty() ? "" : ",") + (name.is_string() ? std::string(name.get_string()) : "");
      }
      errors->push_back(where + "invalid parameters: " + list);
    } else {
      for (const auto& b : batch) {
        const std::string asked(b.get_string());
        if (const json::object* p = FindParameter(parameters, asked)) {
          found[asked] = *p;
        } else {
          errors->push_back(where + "no parameter answered for " + asked);
        }
      }
    }
    for (auto& p : parameters) {
      if (!p.is_object()) continue;
      if (auto* v = p.get_object().if_contains("Value"); v && v->is_string()) {
        auto& s = v->get_string();
        OPENSSL_cleanse(s.data(), s.size());
      }
    }
  }
  return found;
}

}  // namespace

Result<std::vector<FetchedSecret>> FetchSecrets(const AwsClient& client,
                                                const std::vector<SecretReference>& refs) {
  std::vector<std::string> asm_errors, ssm_errors;
  // Secrets Manager: one read per distinct secret version.
  struct Read {
    std::optional<json::object> answer;
    std::string error;
  };
  std::map<std::string, Read> reads;
  for (const auto& ref : refs) {
    if (ref.service != Service::kSecretsManager) continue;
    auto [it, fresh] = reads.try_emplace(ReadKey(client, ref));
    if (!fresh) continue;
    auto reply = client.CallJson("secretsmanager", "secretsmanager.GetSecretValue",
                                 GetSecretValueInput(ref), RegionOf(client, ref));
    if (reply.ok()) {
      it->second.answer = std::move(*reply.value);
    } else if (reply.failure.code == "ResourceNotFoundException") {
      // The agent's own wording for the commonest mistake (agent/asm/asm.go).
      it->second.error =
          "ResourceInitializationError: The task can't retrieve the secret with ARN '" +
          ref.secret_id + "' from AWS Secrets Manager. Check that the secret ARN " +
          "is correct: " + reply.failure.Text();
    } else {
      it->second.error = "failed to fetch secret " + ref.secret_id +
                         " from secrets manager: " + reply.failure.Text();
    }
    if (!it->second.error.empty()) asm_errors.push_back(it->second.error);
  }
  // Parameter Store: batches per region.
  std::map<std::string, std::vector<std::string>> by_region;
  for (const auto& ref : refs) {
    if (ref.service != Service::kParameterStore) continue;
    auto& names = by_region[RegionOf(client, ref)];
    if (std::find(names.begin(), names.end(), ref.value_from) == names.end()) {
      names.push_back(ref.value_from);
    }
  }
  std::map<std::string, std::map<std::string, json::object>> parameters;
  for (const auto& [region, names] : by_region) {
    parameters[region] = GetParameters(client, names, region, true, &ssm_errors);
  }

  std::vector<FetchedSecret> out;
  for (const auto& ref : refs) {
    FetchedSecret fetched;
    fetched.env_name = ref.env_name;
    if (ref.service == Service::kParameterStore) {
      auto& found = parameters[RegionOf(client, ref)];
      auto it = found.find(ref.value_from);
      if (it == found.end()) continue;  // its batch's error is recorded
      fetched.value = SecretBytes(Str(it->second, "Value"));
      fetched.version = Str(it->second, "Version");
      out.push_back(std::move(fetched));
      continue;
    }
    const Read& read = reads[ReadKey(client, ref)];
    if (!read.answer) continue;
    const json::object& answer = *read.answer;
    fetched.version = Str(answer, "VersionId");
    const auto* string_value = answer.if_contains("SecretString");
    if (string_value == nullptr || !string_value->is_string()) {
      asm_errors.push_back("secret " + ref.secret_id +
                           " holds a SecretBinary; ECS injects SecretString values only");
      continue;
    }
    if (ref.json_key.empty()) {
      fetched.value = SecretBytes(std::string_view(string_value->get_string()));
      out.push_back(std::move(fetched));
      continue;
    }
    boost::system::error_code ec;
    json::value parsed = json::parse(string_value->get_string(), ec);
    if (ec || !parsed.is_object()) {
      asm_errors.push_back("secret " + ref.secret_id + ": the value is not a JSON object, so " +
                           "it has no json key " + ref.json_key);
      continue;
    }
    const auto* picked = parsed.get_object().if_contains(ref.json_key);
    if (picked == nullptr) {
      asm_errors.push_back("retrieved secret from Secrets Manager did not contain json key " +
                           ref.json_key);
    } else {
      std::string rendered = RenderAsEcs(*picked);
      fetched.value = SecretBytes(rendered);
      OPENSSL_cleanse(rendered.data(), rendered.size());
      out.push_back(std::move(fetched));
    }
    if (parsed.is_object()) {
      for (auto& item : parsed.get_object()) {
        if (item.value().is_string()) {
          OPENSSL_cleanse(item.value().get_string().data(), item.value().get_string().size());
        }
      }
    }
  }
  for (auto& [key, read] : reads) {
    if (!read.answer) continue;
    if (auto* s = read.answer->if_contains("SecretString"); s && s->is_string()) {
      OPENSSL_cleanse(s->get_string().data(), s->get_string().size());
    }
  }
  if (asm_errors.empty() && ssm_errors.empty()) return out;
  std::string message =
      "ResourceInitializationError: unable to pull secrets or registry auth: execution resource "
      "retrieval failed: ";
  auto join = [](const std::vector<std::string>& errors) {
    std::string all;
    for (const auto& e : errors) all += (all.empty() ? "" : "; ") + e;
    return all;
  };
  if (!asm_errors.empty()) message += "unable to retrieve secret from asm: " + join(asm_errors);
  if (!ssm_errors.empty()) {
    message += std::string(asm_errors.empty() ? "" : "; ") +
               "unable to retrieve secrets from ssm: " + join(ssm_errors);
  }
  return Status(ErrorCode::kInvalidParameter, message);
}

Result<bool> SecretsMoved(const AwsClient& client, const std::vector<SecretReference>& refs,
                          const std::vector<FetchedSecret>& fetched) {
  std::map<std::string, std::string> version_of;  // env name -> version fetched
  for (const auto& f : fetched) version_of[f.env_name] = f.version;
  std::map<std::string, json::object> described;  // secret id -> DescribeSecret
  std::map<std::string, std::vector<std::string>> by_region;
  for (const auto& ref : refs) {
    if (ref.service == Service::kParameterStore) {
      by_region[RegionOf(client, ref)].push_back(ref.value_from);
      continue;
    }
    if (!ref.version_id.empty() && ref.version_stage.empty()) continue;  // pinned
    auto it = described.find(ref.secret_id);
    if (it == described.end()) {
      auto reply = client.CallJson("secretsmanager", "secretsmanager.DescribeSecret",
                                   {{"SecretId", ref.secret_id}}, RegionOf(client, ref));
      if (!reply.ok()) {
        return Status(ErrorCode::kInvalidParameter,
                      "DescribeSecret " + ref.secret_id + ": " + reply.failure.Text());
      }
      it = described.emplace(ref.secret_id, std::move(*reply.value)).first;
    }
    const std::string stage = ref.version_stage.empty() ? "AWSCURRENT" : ref.version_stage;
    std::string holder;
    if (const auto* stages = it->second.if_contains("VersionIdsToStages");
        stages && stages->is_object()) {
      for (const auto& [version, labels] : stages->get_object()) {
        if (!labels.is_array()) continue;
        for (const auto& label : labels.get_array()) {
          if (label.is_string() && label.get_string() == stage) holder = std::string(version);
        }
      }
    }
    if (holder != version_of[ref.env_name]) return true;
  }
  for (const auto& [region, names] : by_region) {
    std::vector<std::string> errors;
    auto found = GetParameters(client, names, region, false, &errors);
    if (!errors.empty()) return Status(ErrorCode::kInvalidParameter, errors.front());
    for (const auto& ref : refs) {
      if (ref.service != Service::kParameterStore || RegionOf(client, ref) != region) continue;
      auto it = found.find(ref.value_from);
      if (it != found.end() && Str(it->second, "Version") != version_of[ref.env_name]) return true;
    }
  }
  return false;
}

}  // namespace coffer::client
