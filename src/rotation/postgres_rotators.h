// The built-in PostgreSQL rotation functions, which behave as AWS's RDS PostgreSQL rotation
// templates (aws-samples/aws-secrets-manager-rotation-lambdas):
//   - single user (SecretsManagerRDSPostgreSQLRotationSingleUser): the user changes its own
//     password, so the old password stops working as soon as setSecret runs;
//   - alternating users (SecretsManagerRDSPostgreSQLRotationMultiUser): each rotation sets a new
//     password on the other of two users, X and X_clone (created on the first rotation with the
//     privileges of X), logged in as the master user of the secret named by `masterarn`; the
//     previous credentials keep working until the next rotation.
// https://docs.aws.amazon.com/secretsmanager/latest/userguide/reference_available-rotation-templates.html
//
// The secret is JSON:
//   {"engine": "postgres" | "aurora-postgresql", "host": ..., "port": 5432 (default),
//    "username": ..., "password": ..., "dbname": "postgres" (default),
//    "ssl": absent (TLS if the server offers it) | true (TLS with a verified certificate only) |
//           false (no TLS),
//    "masterarn": the master user's secret (alternating users only)}
// Other fields are kept as they are in the new version.
//
// Every step first checks the version's stages as the templates do (the secret has rotation
// enabled, the token is a version of the secret, AWSPENDING is on it; a version that is already
// AWSCURRENT has nothing left to do), and is idempotent.
//
// Errors carry the exception type the template raises: "ValueError" (wrong stages, credentials
// that do not log in, a user or host that does not match) or "KeyError" (a field missing from
// the secret, or an engine other than PostgreSQL); a failed Secrets Manager call returns its AWS
// error. No error message or log line contains a password. Passwords go to the server already
// hashed (SCRAM-SHA-256 or whatever the server's password_encryption asks for), so they do not
// appear in its statement log either.
//
// Differences from the templates: there is no RDS API here, so the master secret must name the
// same host and port as the user's secret (the templates also accept an RDS read replica, and
// resolve an RDS-managed master secret's host from its system tags); the single-user function
// does not create a missing user.
#pragma once

#include <memory>
#include <string>

#include "rotation/rotation_function.h"

namespace coffer::rotation {

// How the new password is generated (the GetRandomPassword input) and how TLS is verified.
// The defaults are the templates' (their EXCLUDE_CHARACTERS, PASSWORD_LENGTH, ... environment).
struct PostgresRotatorOptions {
  std::string exclude_characters = ":/@\"'\\";
  int password_length = 32;
  bool exclude_numbers = false;
  bool exclude_punctuation = false;
  bool exclude_uppercase = false;
  bool exclude_lowercase = false;
  bool require_each_included_type = true;
  // CA bundle that verifies the server's certificate when the secret says "ssl": true.
  std::string ssl_root_cert = "/etc/ssl/certs/ca-certificates.crt";
};

// Both functions are stateless: one instance may run steps of many secrets, from any thread.
std::unique_ptr<RotationFunction> NewPostgresSingleUserRotator();
std::unique_ptr<RotationFunction> NewPostgresSingleUserRotator(PostgresRotatorOptions options);
std::unique_ptr<RotationFunction> NewPostgresAlternatingUsersRotator();
std::unique_ptr<RotationFunction> NewPostgresAlternatingUsersRotator(
    PostgresRotatorOptions options);

}  // namespace coffer::rotation
