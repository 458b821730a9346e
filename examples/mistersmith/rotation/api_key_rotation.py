"""Custom rotation for the MisterSmith API keys (e.g. mistersmith/external/openai).

This is the "Custom Rotation Lambda" of the MisterSmith secrets design, completed into a
module that runs unchanged on AWS Lambda (handler `api_key_rotation.lambda_handler`) and on
coffer, through tools/coffer-lambda-runner.py:

    coffer operator register-function --name mistersmith-api-key-rotation --kind exec \\
        --role-arn arn:aws:iam::<account>:role/MisterSmithApiKeyRotation \\
        --env API_PROVIDER_STATE=/path/provider.json \\
        --command /path/to/python3 tools/coffer-lambda-runner.py \\
                  examples/mistersmith/rotation/api_key_rotation.py

(a python3 that has boto3, by absolute path: the function runs with a minimal PATH;
examples/mistersmith/configure-rotation.sh does all of this.)

The secret is a JSON object with an "apiKey" member; every other member (organizationId,
projectId, owner ...) is carried over to the new version unchanged.

Rotation runs the four steps Secrets Manager always runs, each one an invocation of
lambda_handler with a new event:

    createSecret  put a new version, holding a new key, under the label AWSPENDING
    setSecret     make the API provider accept the new key (the old one keeps working)
    testSecret    check that the provider accepts the new key
    finishSecret  move AWSCURRENT to the new version (the old one becomes AWSPREVIOUS)

Every step may run more than once (a failed rotation is retried from the failed step, and
RotateSecret may be called again), so each one is idempotent.

What the design's sketch got wrong, and how it is fixed here:

  * The event member is event['ClientRequestToken'], not event['Token'] (there is no 'Token');
    it is the id of the new version for the whole rotation.
  * put_secret_value has no VersionId parameter: the new version's id is passed as
    ClientRequestToken=, and the new version must be labelled VersionStages=['AWSPENDING'] (by
    default PutSecretValue would make it AWSCURRENT at once, before the provider knows the key).
  * `new_key` was a local variable of the createSecret invocation; setSecret and testSecret are
    separate invocations (separate processes on coffer), so they read the key back from the
    AWSPENDING version.
  * createSecret must be idempotent: when AWSPENDING already holds a version for this token it
    does nothing (a retry must not generate a second key).
  * The sketch wrote {'apiKey': new_key} as the whole secret, dropping the secret's other members;
    here only "apiKey" changes.
  * update_secret_version_stage has no VersionId parameter, and moving AWSCURRENT needs
    RemoveFromVersionId= the version that holds it now (else Secrets Manager refuses: a label
    is on one version at a time). finishSecret must also succeed when the version is already
    AWSCURRENT (a retry after a finishSecret that did its work).
  * The design's sketch never checked that the event belongs to a rotation in progress; like
    AWS's own templates, the handler refuses a token that is not AWSPENDING of this secret.

generate_api_key, update_external_service and test_api_key talk to a stand-in "provider": a
small JSON file (its path in the environment variable API_PROVIDER_STATE) listing the keys the
provider accepts, {"keys": [...]}. A real deployment replaces these three functions with calls
to the provider's API (issue a key, enable it, call an endpoint with it). No function here
ever logs a key.
"""

import json
import logging
import os
import secrets
import tempfile

import boto3
from botocore.exceptions import ClientError

logger = logging.getLogger()
logger.setLevel(logging.INFO)

KEY_MEMBER = "apiKey"


def lambda_handler(event, context):
    """Secrets Manager rotation entry point (event: Step, SecretId, ClientRequestToken)."""
    arn = event["SecretId"]
    token = event["ClientRequestToken"]  # not event['Token']
    step = event["Step"]

    service_client = secretsmanager_client()

    # Only a version that this rotation made pending may be worked on.
    metadata = service_client.describe_secret(SecretId=arn)
    if metadata.get("RotationEnabled") is False:
        raise ValueError(f"Secret {arn} is not enabled for rotation")
    versions = metadata.get("VersionIdsToStages", {})
    if token not in versions:
        raise ValueError(f"Secret version {token} has no stage for rotation of secret {arn}.")
    if "AWSCURRENT" in versions[token]:
        logger.info("Secret version %s already set as AWSCURRENT for secret %s.", token, arn)
        return
    if "AWSPENDING" not in versions[token]:
        raise ValueError(f"Secret version {token} not set as AWSPENDING for rotation of secret "
                         f"{arn}.")

    if step == "createSecret":
        create_secret(service_client, arn, token)
    elif step == "setSecret":
        set_secret(service_client, arn, token)
    elif step == "testSecret":
        test_secret(service_client, arn, token)
    elif step == "finishSecret":
        finish_secret(service_client, arn, token)
    else:
        raise ValueError(f"Invalid step parameter {step}")


def secretsmanager_client():
    """The Secrets Manager client; SECRETS_MANAGER_ENDPOINT overrides the endpoint, as in AWS's
    rotation templates (coffer sets it to its own URL; on AWS it is normally unset)."""
    endpoint = os.environ.get("SECRETS_MANAGER_ENDPOINT")
    if endpoint:
        return boto3.client("secretsmanager", endpoint_url=endpoint)
    return boto3.client("secretsmanager")


# ------------------------------------------------------------------------- the four steps
def create_secret(service_client, arn, token):
    """Puts a version with a new API key under AWSPENDING, unless this token already has one."""
    current = get_secret_dict(service_client, arn, "AWSCURRENT")
    try:
        get_secret_dict(service_client, arn, "AWSPENDING", token)
        logger.info("createSecret: AWSPENDING already holds version %s of %s.", token, arn)
        return
    except ClientError as e:
        if e.response["Error"]["Code"] != "ResourceNotFoundException":
            raise
    new_key = generate_api_key()
    pending = dict(current)  # keep organizationId, projectId, ... as they are
    pending[KEY_MEMBER] = new_key
    service_client.put_secret_value(
        SecretId=arn,
        ClientRequestToken=token,  # the new version's id (put_secret_value has no VersionId)
        SecretString=json.dumps(pending),
        VersionStages=["AWSPENDING"],
    )
    logger.info("createSecret: put a new API key in version %s of %s as AWSPENDING.", token, arn)


def set_secret(service_client, arn, token):
    """Makes the provider accept the pending key, next to the current one."""
    # The sketch used createSecret's local new_key here; this is another invocation, so the
    # key is read back from the AWSPENDING version.
    pending = get_secret_dict(service_client, arn, "AWSPENDING", token)
    current = get_secret_dict(service_client, arn, "AWSCURRENT")
    update_external_service(pending[KEY_MEMBER], current.get(KEY_MEMBER))
    logger.info("setSecret: the provider accepts the key of version %s of %s.", token, arn)


def test_secret(service_client, arn, token):
    """Checks that the provider accepts the pending key.

    RotateSecret with RotateImmediately=false runs only this step, as a configuration check,
    on an AWSPENDING version that has no value: then the function checks what it can, that it
    reads the secret and the provider accepts the current key."""
    try:
        pending = get_secret_dict(service_client, arn, "AWSPENDING", token)
    except ClientError as e:
        if e.response["Error"]["Code"] != "ResourceNotFoundException":
            raise
        current = get_secret_dict(service_client, arn, "AWSCURRENT")
        test_api_key(current[KEY_MEMBER])
        logger.info("testSecret: configuration check of %s passed (no pending value).", arn)
        return
    test_api_key(pending[KEY_MEMBER])
    logger.info("testSecret: the key of version %s of %s works.", token, arn)


def finish_secret(service_client, arn, token):
    """Moves AWSCURRENT to the new version; the version that held it becomes AWSPREVIOUS."""
    metadata = service_client.describe_secret(SecretId=arn)
    current_version = None
    for version, stages in metadata.get("VersionIdsToStages", {}).items():
        if "AWSCURRENT" in stages:
            if version == token:
                logger.info("finishSecret: version %s is already AWSCURRENT of %s.", token, arn)
                return
            current_version = version
            break
    # The sketch passed VersionId=, which update_secret_version_stage does not have, and no
    # RemoveFromVersionId, without which moving a label that is on another version fails.
    kwargs = {"SecretId": arn, "VersionStage": "AWSCURRENT", "MoveToVersionId": token}
    if current_version is not None:
        kwargs["RemoveFromVersionId"] = current_version
    service_client.update_secret_version_stage(**kwargs)
    logger.info("finishSecret: version %s of %s is now AWSCURRENT (was %s).", token, arn,
                current_version)


def get_secret_dict(service_client, arn, stage, token=None):
    """The JSON object of the version with `stage` (and id `token`, when given)."""
    kwargs = {"SecretId": arn, "VersionStage": stage}
    if token:
        kwargs["VersionId"] = token
    value = json.loads(service_client.get_secret_value(**kwargs)["SecretString"])
    if not isinstance(value, dict) or not isinstance(value.get(KEY_MEMBER), str):
        raise KeyError(f"The {stage} version of {arn} is not a JSON object with a string "
                       f"\"{KEY_MEMBER}\" member.")
    return value


# ------------------------------------------------------- the stand-in API provider
# A real deployment replaces these three functions with calls to the provider's API.
def _provider_path():
    path = os.environ.get("API_PROVIDER_STATE")
    if not path:
        raise RuntimeError("API_PROVIDER_STATE is not set: it names the stand-in provider's "
                           "state file (a real deployment calls the provider's API instead)")
    return path


def _load_provider():
    try:
        with open(_provider_path(), encoding="utf-8") as f:
            state = json.load(f)
    except FileNotFoundError:
        state = {}
    if not isinstance(state.get("keys"), list):
        state["keys"] = []
    return state


def _save_provider(state):
    path = _provider_path()
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".provider-", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(state, f)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)  # readers see the old or the new list, never half a file
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def generate_api_key():
    """A new API key (a real provider issues it)."""
    return "msk_" + secrets.token_urlsafe(30)


def update_external_service(new_key, old_key=None):
    """The provider accepts `new_key` and, during the switch-over, still `old_key`; keys older
    than that are revoked. Idempotent."""
    state = _load_provider()
    keep = [k for k in (old_key, new_key) if k]
    state["keys"] = list(dict.fromkeys(keep))
    _save_provider(state)


def test_api_key(key):
    """Raises unless the provider accepts `key` (a real check calls an endpoint with it)."""
    if key not in _load_provider()["keys"]:
        raise RuntimeError("the API provider does not accept the new key")
