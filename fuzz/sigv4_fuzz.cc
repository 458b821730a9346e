// libFuzzer target: SigV4 verification of arbitrary request targets and auth headers.
// Input layout: target '\n' authorization '\n' x-amz-date '\n' body.
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "auth/sigv4.h"

namespace {

class OneCredential : public coffer::CredentialSource {
 public:
  std::shared_ptr<const coffer::Credential> Find(std::string_view id) override {
    if (id != "AKIDEXAMPLE") return nullptr;
    auto c = std::make_shared<coffer::Credential>();
    c->secret_access_key = coffer::SecretBytes(std::string_view("secret"));
    c->principal.access_key_id = "AKIDEXAMPLE";
    return c;
  }
};

std::string_view NextLine(std::string_view* in) {
  size_t nl = in->find('\n');
  std::string_view line = in->substr(0, nl);
  in->remove_prefix(nl == std::string_view::npos ? in->size() : nl + 1);
  return line;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  std::string_view target = NextLine(&in);
  std::string_view authorization = NextLine(&in);
  std::string_view date = NextLine(&in);
  coffer::SigV4Request r;
  r.method = "POST";
  r.target = target.empty() ? "/" : target;
  r.headers = {{"host", "localhost"}, {"x-amz-date", date}};
  if (!authorization.empty()) r.headers.emplace_back("authorization", authorization);
  r.body = in;
  OneCredential creds;
  (void)coffer::VerifySigV4(r, creds, 1440938160000);
  (void)coffer::CanonicalQueryString(target, true);
  (void)coffer::CanonicalUri(target);
  return 0;
}
