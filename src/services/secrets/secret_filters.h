// ListSecrets / BatchGetSecretValue filters.
// https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_Filter.html
//
//  name, tag-key, tag-value, primary-region, owning-service: prefix match, case-sensitive.
//  description: prefix match, case-insensitive.
//  all: the value is split into words; each word must prefix-match (case-insensitive) a word
//       of the name, description, a tag key or a tag value.
//  A value starting with '!' negates. Values of one filter are OR'ed, filters are AND'ed.
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

}  // namespace coffer::secrets
