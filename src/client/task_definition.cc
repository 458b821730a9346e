#include "client/task_definition.h"

#include <openssl/crypto.h>

#include <boost/json.hpp>
#include <fstream>
#include <map>
#include <set>

namespace coffer::client {

namespace json = boost::json;

namespace {

Status Invalid(std::string message) {
  return Status(ErrorCode::kInvalidParameter, std::move(message));
}

const json::value* Field(const json::object& o, std::string_view key) { return o.if_contains(key); }

std::string Text(const json::object& o, std::string_view key) {
  const json::value* v = Field(o, key);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

std::string Local(const std::string& base_dir, const std::string& path) {
  if (path.empty() || path[0] == '/' || base_dir.empty()) return path;
  return base_dir + "/" + path;
}

// Resolves CloudFormation intrinsic functions in one value. Every reference that cannot be
// resolved is added to `unresolved` (what refers, and why), so all are reported at once.
class TemplateResolver {
 public:
  TemplateResolver(const json::object& root, const TemplateContext& context) : context_(context) {
    if (const auto* r = Field(root, "Resources"); r && r->is_object())
      resources_ = &r->get_object();
    if (const auto* p = Field(root, "Parameters"); p && p->is_object()) {
      parameters_ = &p->get_object();
    }
  }

  // The value as a string; nullopt (with the reason recorded) when it cannot be resolved.
  std::optional<std::string> Resolve(const json::value& v, const std::string& where) {
    if (v.is_string()) return std::string(v.get_string());
    if (v.is_int64() || v.is_uint64() || v.is_double() || v.is_bool()) return json::serialize(v);
    if (!v.is_object() || v.get_object().size() != 1) {
      return Fail(where, "a value that is neither a string nor one intrinsic function");
    }
    const auto& [fn, arg] = *v.get_object().begin();
    if (fn == "Ref" && arg.is_string()) return Ref(std::string(arg.get_string()), where);
    if (fn == "Fn::Join" && arg.is_array() && arg.get_array().size() == 2 &&
        arg.get_array()[0].is_string() && arg.get_array()[1].is_array()) {
      std::string joined;
      bool first = true, whole = true;
      for (const auto& part : arg.get_array()[1].get_array()) {
        if (!first) joined += std::string(arg.get_array()[0].get_string());
        first = false;
        auto piece = Resolve(part, where);
        if (!piece) whole = false;
        joined += piece.value_or("");
      }
      if (!whole) return std::nullopt;
      return joined;
    }
    if (fn == "Fn::Sub") return Sub(arg, where);
    return Fail(where, std::string(fn) + " cannot be resolved outside CloudFormation");
  }

  std::vector<std::string> unresolved;

 private:
  std::optional<std::string> Fail(const std::string& where, const std::string& why) {
    unresolved.push_back(where + ": " + why);
    return std::nullopt;
  }

  std::optional<std::string> Ref(const std::string& name, const std::string& where) {
    if (name == "AWS::Region") return context_.region;
    if (name == "AWS::Partition") return context_.partition;
    if (name == "AWS::URLSuffix") return std::string("amazonaws.com");
    if (name == "AWS::AccountId") {
      if (!account_) {
        auto account =
            context_.account_id
                ? context_.account_id()
                : Result<std::string>(Status(ErrorCode::kInvalidParameter, "no account"));
        if (!account.ok()) return Fail(where, "AWS::AccountId: " + account.status().message());
        account_ = *account;
      }
      return *account_;
    }
    if (name.rfind("AWS::", 0) == 0) return Fail(where, "the pseudo parameter " + name);
    if (parameters_ != nullptr) {
      if (const auto* p = Field(*parameters_, name); p && p->is_object()) {
        const auto& param = p->get_object();
        if (Text(param, "Type") == "String" && Field(param, "Default") != nullptr) {
          return Resolve(*Field(param, "Default"), where);
        }
        return Fail(where, "the template parameter " + name + " (only String parameters with " +
                               "a Default are read)");
      }
    }
    const json::object* resource = nullptr;
    if (resources_ != nullptr) {
      if (const auto* r = Field(*resources_, name); r && r->is_object()) {
        resource = &r->get_object();
      }
    }
    if (resource == nullptr) return Fail(where, "Ref " + name + " is not in the template");
    const std::string type = Text(*resource, "Type");
    std::string fixed_name;
    if (const auto* props = Field(*resource, "Properties"); props && props->is_object()) {
      if (const auto* n = Field(props->get_object(), "Name")) {
        auto resolved = Resolve(*n, where);
        if (!resolved) return std::nullopt;
        fixed_name = *resolved;
      }
    }
    if (type != "AWS::SecretsManager::Secret" && type != "AWS::SSM::Parameter") {
      return Fail(where, "Ref " + name + " is a " + type +
                             ", neither an AWS::SecretsManager::Secret nor an AWS::SSM::Parameter");
    }
    if (fixed_name.empty()) {
      return Fail(where, "Ref " + name + ": the " + type +
                             " has no Name, so only CloudFormation knows what it is called");
    }
    if (type == "AWS::SSM::Parameter") return fixed_name;  // Ref answers the parameter's name
    auto account = Ref("AWS::AccountId", where);
    if (!account) return std::nullopt;
    // https://docs.aws.amazon.com/secretsmanager/latest/userguide/troubleshoot.html#ARN_secretnamehyphen:
    // a partial ARN finds the secret unless its name itself ends in a hyphen and six characters.
    return "arn:" + context_.partition + ":secretsmanager:" + context_.region + ":" + *account +
           ":secret:" + fixed_name;
  }

  std::optional<std::string> Sub(const json::value& arg, const std::string& where) {
    const json::object* vars = nullptr;
    const json::value* text = &arg;
    if (arg.is_array() && arg.get_array().size() == 2 && arg.get_array()[1].is_object()) {
      text = &arg.get_array()[0];
      vars = &arg.get_array()[1].get_object();
    }
    if (!text->is_string()) return Fail(where, "Fn::Sub without a string");
    const std::string s(text->get_string());
    std::string out;
    bool whole = true;
    for (size_t i = 0; i < s.size(); ++i) {
      if (s.compare(i, 3, "${!") == 0) {  // "${!Literal}" is written as "${Literal}"
        out += "${";
        i += 2;
        continue;
      }
      if (s.compare(i, 2, "${") != 0) {
        out += s[i];
        continue;
      }
      size_t close = s.find('}', i);
      if (close == std::string::npos) return Fail(where, "Fn::Sub with an unclosed ${");
      std::string name = s.substr(i + 2, close - i - 2);
      i = close;
      std::optional<std::string> value;
      if (vars != nullptr && Field(*vars, name) != nullptr) {
        value = Resolve(*Field(*vars, name), where);
      } else if (name.find('.') != std::string::npos) {
        value = Fail(where, "${" + name + "} (an attribute, as Fn::GetAtt)");
      } else {
        value = Ref(name, where);
      }
      if (!value) whole = false;
      out += value.value_or("");
    }
    if (!whole) return std::nullopt;
    return out;
  }

  const TemplateContext& context_;
  const json::object* resources_ = nullptr;
  const json::object* parameters_ = nullptr;
  std::optional<std::string> account_;
};

// containerDefinitions (ECS spelling) or ContainerDefinitions (CloudFormation spelling): the
// same fields with the first letter capitalised.
Result<ContainerEnvironment> ReadDefinition(const json::object& definition, bool cloudformation,
                                            const std::string& base_dir,
                                            TemplateResolver* resolver) {
  auto key = [&](const char* ecs) {
    std::string k = ecs;
    if (cloudformation) k[0] = static_cast<char>(std::toupper(k[0]));
    return k;
  };
  ContainerEnvironment out;
  out.container = Text(definition, key("name"));
  auto value_of = [&](const json::value& v,
                      const std::string& where) -> std::optional<std::string> {
    if (resolver != nullptr) return resolver->Resolve(v, where);
    if (v.is_string()) return std::string(v.get_string());
    return std::nullopt;
  };
  auto pairs = [&](const char* list, const char* value_key,
                   std::vector<std::pair<std::string, std::string>>* into) -> Status {
    const json::value* items = Field(definition, key(list));
    if (items == nullptr) return Status::Ok();
    if (!items->is_array()) return Invalid(key(list) + " is not a list");
    for (const auto& item : items->get_array()) {
      if (!item.is_object()) return Invalid(key(list) + " holds an entry that is not an object");
      const std::string name = Text(item.get_object(), key("name"));
      const json::value* v = Field(item.get_object(), key(value_key));
      if (name.empty() || v == nullptr) {
        return Invalid(key(list) + " holds an entry without " + key("name") + " and " +
                       key(value_key));
      }
      auto value = value_of(*v, key(list) + " " + name);
      if (!value) {
        if (resolver == nullptr) return Invalid(key(list) + " " + name + " is not a string");
        continue;  // recorded by the resolver
      }
      into->emplace_back(name, std::move(*value));
    }
    return Status::Ok();
  };
  COFFER_RETURN_IF_ERROR(pairs("environment", "value", &out.environment));
  COFFER_RETURN_IF_ERROR(pairs("secrets", "valueFrom", &out.secrets));
  if (const json::value* files = Field(definition, key("environmentFiles"))) {
    if (!files->is_array()) return Invalid(key("environmentFiles") + " is not a list");
    for (const auto& file : files->get_array()) {
      if (!file.is_object()) continue;
      auto value =
          value_of(file.get_object().contains(key("value")) ? file.get_object().at(key("value"))
                                                            : json::value(),
                   key("environmentFiles"));
      if (!value) continue;
      if (value->rfind("arn:", 0) == 0) {
        return Invalid("environment file " + *value +
                       " is in S3; copy it here and give it as --env-file");
      }
      out.environment_files.push_back(Local(base_dir, *value));
    }
  }
  return out;
}

// Every container definition of every AWS::ECS::TaskDefinition in a template's Resources, with
// the resource's logical id.
std::vector<std::pair<std::string, const json::object*>> TemplateContainers(
    const json::object& resources) {
  std::vector<std::pair<std::string, const json::object*>> out;
  for (const auto& resource : resources) {
    if (!resource.value().is_object() ||
        Text(resource.value().get_object(), "Type") != "AWS::ECS::TaskDefinition") {
      continue;
    }
    const auto* props = Field(resource.value().get_object(), "Properties");
    const json::value* defs =
        props && props->is_object() ? Field(props->get_object(), "ContainerDefinitions") : nullptr;
    if (defs == nullptr || !defs->is_array()) continue;
    for (const auto& def : defs->get_array()) {
      if (def.is_object()) out.emplace_back(std::string(resource.key()), &def.get_object());
    }
  }
  return out;
}

Result<ContainerEnvironment> Choose(std::vector<ContainerEnvironment> found,
                                    const std::string& container) {
  if (found.empty()) return Invalid("the file holds no container definitions");
  std::string names;
  for (auto& c : found) {
    if (!container.empty() && c.container == container) return std::move(c);
    names += (names.empty() ? "" : ", ") + c.container;
  }
  if (container.empty() && found.size() == 1) return std::move(found.front());
  if (container.empty())
    return Invalid("the file holds several containers; give --container (" + names + ")");
  return Invalid("no container named " + container + " (the file holds: " + names + ")");
}

}  // namespace

Result<ContainerEnvironment> ReadContainerEnvironment(const std::string& text,
                                                      const std::string& container,
                                                      const std::string& base_dir,
                                                      const TemplateContext& context) {
  boost::system::error_code ec;
  json::value root = json::parse(text, ec);
  if (ec || !root.is_object()) {
    return Invalid(
        "the task definition is not a JSON object (a YAML template: give the JSON "
        "one, such as cdk.out/<Stack>.template.json)");
  }
  const json::object* object = &root.get_object();
  if (const auto* inner = Field(*object, "taskDefinition"); inner && inner->is_object()) {
    object = &inner->get_object();  // DescribeTaskDefinition's output
  }
  std::vector<ContainerEnvironment> found;
  if (const auto* defs = Field(*object, "containerDefinitions")) {
    if (!defs->is_array()) return Invalid("containerDefinitions is not a list");
    for (const auto& def : defs->get_array()) {
      if (!def.is_object()) return Invalid("containerDefinitions holds a non-object");
      COFFER_ASSIGN_OR_RETURN(auto c, ReadDefinition(def.get_object(), false, base_dir, nullptr));
      found.push_back(std::move(c));
    }
    return Choose(std::move(found), container);
  }
  const auto* resources = Field(*object, "Resources");
  if (resources == nullptr || !resources->is_object()) {
    return Invalid(
        "the file is neither a task definition (containerDefinitions) nor a "
        "CloudFormation template (Resources)");
  }
  // Only the chosen container's references are resolved: another container's unresolvable
  // ones do not stop this one.
  const auto definitions = TemplateContainers(resources->get_object());
  for (const auto& [resource, def] : definitions) {
    ContainerEnvironment named;
    named.container = Text(*def, "Name");
    found.push_back(std::move(named));
  }
  COFFER_ASSIGN_OR_RETURN(ContainerEnvironment chosen, Choose(found, container));
  for (const auto& [resource, def] : definitions) {
    if (Text(*def, "Name") == chosen.container) {
      TemplateResolver resolver(*object, context);
      COFFER_ASSIGN_OR_RETURN(auto c, ReadDefinition(*def, true, base_dir, &resolver));
      if (!resolver.unresolved.empty()) {
        std::string all;
        for (const auto& u : resolver.unresolved) all += "\n  " + u;
        return Invalid("container " + chosen.container + " (" + resource +
                       "): these references cannot be resolved:" + all);
      }
      return c;
    }
  }
  return Invalid("no container named " + container);
}

Status ReadEnvironmentFile(const std::string& path,
                           std::vector<std::pair<std::string, std::string>>* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Invalid("cannot read the environment file " + path);
  std::set<std::string> present;
  for (const auto& [name, value] : *out) present.insert(name);
  int number = 0;
  for (std::string line; std::getline(in, line);) {
    ++number;
    if (!line.empty() && line.back() == '\r') line.pop_back();  // a file with CRLF line ends
    if (line.empty() || line[0] == '#') continue;
    size_t eq = line.find('=');
    if (eq == std::string::npos || eq == 0) {
      OPENSSL_cleanse(line.data(), line.size());
      return Invalid("environment file " + path + ", line " + std::to_string(number) +
                     ": not VARIABLE=VALUE");
    }
    std::string name = line.substr(0, eq);
    if (present.insert(name).second) out->emplace_back(name, line.substr(eq + 1));
    OPENSSL_cleanse(line.data(), line.size());
  }
  return Status::Ok();
}

}  // namespace coffer::client
