// Built-in rotation functions that need no external system.
//   random-api-key    a new 40-character key (the "apiKey" member of a JSON secret, or the
//                     whole value), for API keys rotated by a provider that accepts any key
//   hmac-signing-key  a new 256-bit key, 64 hex characters (the "secret" member of a JSON
//                     secret, or the whole value). Blue-green: the old key stays readable as
//                     AWSPREVIOUS, so verifiers accept tokens signed by either during the switch.
// Both follow the four steps of the AWS templates: createSecret puts AWSPENDING once per token,
// setSecret has nothing to set, testSecret checks the pending value, finishSecret moves
// AWSCURRENT.
#pragma once

#include <memory>

#include "rotation/rotation_function.h"

namespace coffer::rotation {

std::unique_ptr<RotationFunction> NewRandomApiKeyRotator();
std::unique_ptr<RotationFunction> NewHmacSigningKeyRotator();

// The finishSecret step every template shares: AWSCURRENT moves to the token's version.
Status FinishSecret(const StepEvent& event, SecretsClient& secrets, std::string* log);

}  // namespace coffer::rotation
