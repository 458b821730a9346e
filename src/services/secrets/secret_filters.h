// ListSecrets / BatchGetSecretValue filters.
// https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_Filter.html
//
//  name, description: the value and the field are split into words (runs of letters and
//       digits); every word of the value must be a case-insensitive prefix of some word of the
//       field, in any order ("app jwt" matches "mistersmith/app/jwt"). A value with no letter or
//       digit matches nothing.
//  tag-key, tag-value, primary-region, owning-service: prefix match, case-sensitive.
//  all: the value is split into words (also at case changes and letter/digit boundaries); each
//       word must prefix-match (case-insensitive) a word of the name, description, a tag key or
//       a tag value.
//  A value starting with '!' negates. Values of one filter are OR'ed; filters are AND'ed, also
//  several filters with the same key.
#pragma once

#include <string>
#include <vector>

#include "store/store.h"

namespace coffer::secrets {

struct SecretFilter {
  std::string key;
  std::vector<std::string> values;
};

bool IsFilterKey(const std::string& key);
bool IsValidFilterValue(const std::string& value);
bool MatchesFilters(const SecretRow& secret, const std::vector<SecretFilter>& filters);

// Splits text into lowercase words at punctuation, case changes and letter/digit boundaries
// ("MyDBPassword2" -> my, db, password, 2).
std::vector<std::string> SplitWords(const std::string& text);

// Splits text into lowercase runs of letters and digits ("Prod-DB password2" -> prod, db,
// password2).
std::vector<std::string> AlnumWords(const std::string& text);

}  // namespace coffer::secrets
