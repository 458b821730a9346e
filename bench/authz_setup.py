#!/usr/bin/env python3
"""Identities, policies and signed requests for bench/authz.sh (policy evaluation under load).

  authz_setup.py setup ENDPOINT OUT_DIR
      With the root key (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY), creates on a fresh server:
        secret  mistersmith/bench/db-credentials   make_request.py's 186-byte SecretString,
                                                    tagged project=mistersmith, under the default
                                                    aws/secretsmanager key, with a resource
                                                    policy: Allow role/app GetSecretValue, Deny
                                                    DeleteSecret to "*" (the MisterSmith seed's)
        secret  mistersmith/bench/untagged          the same without the tag (a negative check)
        policy  APP_POLICY below, 3 statements:    Allow GetSecretValue/DescribeSecret on
                                                    secret:mistersmith/* if aws:ResourceTag/project
                                                    = mistersmith; Allow ssm:GetParameter* on
                                                    parameter/mistersmith/*; Deny DeleteSecret
        user    app-user                            APP_POLICY inline, one access key (AKIA...)
        user    deployer                            may sts:AssumeRole role/app, one access key
        role    app                                 trust: user/deployer; APP_POLICY inline;
                                                    MaxSessionDuration 43200 (12 h)
        session app/bench                           deployer's AssumeRole of app for 43200 s
                                                    (ASIA... key + session token)
      then checks that the policies really are evaluated: GetCallerIdentity names each
      principal, each reads the secret, and each of these is refused with AccessDeniedException:
      app-user reading the untagged secret (the tag condition), the session's DeleteSecret
      (identity Deny), the root's DeleteSecret (resource-policy Deny), deployer's GetSecretValue
      (no policy allows it). Writes OUT_DIR/principals.json (the three key pairs) and prints
      KEY=VALUE lines for the report.

  authz_setup.py sign ENDPOINT OUT_DIR PRINCIPAL        (PRINCIPAL: root, user or session)
      Signs ONE GetSecretValue of the tagged secret with that principal's credentials, with
      botocore's SigV4Auth (for the session the signed headers include X-Amz-Security-Token),
      and writes OUT_DIR/PRINCIPAL.lua (a wrk script replaying it, with make_request.py's status
      hooks), PRINCIPAL.body and PRINCIPAL.curl (curl -H arguments) for authz.sh's curl check.

A SigV4 signature is accepted for 5 minutes, so authz.sh signs each request right before its
runs. make_request.py's import clears profiles, config files and proxies.
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_request  # noqa: E402  (clears the AWS environment on import)

import boto3  # noqa: E402
from botocore.config import Config  # noqa: E402
from botocore.credentials import Credentials  # noqa: E402
from botocore.exceptions import ClientError  # noqa: E402

SECRET_NAME = "mistersmith/bench/db-credentials"
UNTAGGED_NAME = "mistersmith/bench/untagged"
ROLE_NAME = "app"
USER_NAME = "app-user"
DEPLOYER_NAME = "deployer"
SESSION_NAME = "bench"
SESSION_SECONDS = 43200  # the role's MaxSessionDuration: the longest session AWS allows


def app_policy(region, account):
    """A realistic application policy: read its own tagged secrets and its parameters, and
    never delete a secret."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ReadOwnSecrets",
                "Effect": "Allow",
                "Action": ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
                "Resource": f"arn:aws:secretsmanager:{region}:{account}:secret:mistersmith/*",
                "Condition": {"StringEquals": {"aws:ResourceTag/project": "mistersmith"}},
            },
            {
                "Sid": "ReadOwnParameters",
                "Effect": "Allow",
                "Action": "ssm:GetParameter*",
                "Resource": f"arn:aws:ssm:{region}:{account}:parameter/mistersmith/*",
            },
            {
                "Sid": "NeverDeleteSecrets",
                "Effect": "Deny",
                "Action": "secretsmanager:DeleteSecret",
                "Resource": "*",
            },
        ],
    }


def resource_policy(account):
    """The MisterSmith seed's secret resource policy, for the benchmark's role."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{account}:role/{ROLE_NAME}"},
                "Action": "secretsmanager:GetSecretValue",
                "Resource": "*",
            },
            {
                "Effect": "Deny",
                "Principal": "*",
                "Action": "secretsmanager:DeleteSecret",
                "Resource": "*",
            },
        ],
    }


def client(service, endpoint, region, creds):
    return boto3.client(
        service, endpoint_url=endpoint, region_name=region,
        aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds.get("SessionToken"),
        config=Config(retries={"max_attempts": 1}))


def expect_denied(desc, call):
    try:
        call()
    except ClientError as e:
        code = e.response.get("Error", {}).get("Code")
        if code != "AccessDeniedException":
            sys.exit(f"{desc}: expected AccessDeniedException, got {code}: {e}")
        return
    sys.exit(f"{desc}: expected AccessDeniedException, but the call succeeded")


def setup(endpoint, out_dir):
    region = os.environ.get("AWS_REGION", "us-east-1")
    root = {"AccessKeyId": os.environ["AWS_ACCESS_KEY_ID"],
            "SecretAccessKey": os.environ["AWS_SECRET_ACCESS_KEY"]}
    account = client("sts", endpoint, region, root).get_caller_identity()["Account"]
    sm = client("secretsmanager", endpoint, region, root)
    iam = client("iam", endpoint, region, root)

    # The secrets and the resource policy (its principal, role/app, must exist first).
    tags = [{"Key": "project", "Value": "mistersmith"}]
    secret_arn = sm.create_secret(Name=SECRET_NAME, SecretString=make_request.SECRET_STRING,
                                  Tags=tags)["ARN"]
    sm.create_secret(Name=UNTAGGED_NAME, SecretString=make_request.SECRET_STRING)

    policy = json.dumps(app_policy(region, account))
    # The trusted user first: a trust policy may only name principals that exist.
    iam.create_user(UserName=DEPLOYER_NAME)
    iam.put_user_policy(UserName=DEPLOYER_NAME, PolicyName="assume-app", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                       "Resource": f"arn:aws:iam::{account}:role/{ROLE_NAME}"}],
    }))
    deployer = iam.create_access_key(UserName=DEPLOYER_NAME)["AccessKey"]

    role_arn = iam.create_role(
        RoleName=ROLE_NAME, MaxSessionDuration=SESSION_SECONDS,
        AssumeRolePolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{account}:user/{DEPLOYER_NAME}"},
                "Action": "sts:AssumeRole",
            }],
        }))["Role"]["Arn"]
    iam.put_role_policy(RoleName=ROLE_NAME, PolicyName="app", PolicyDocument=policy)
    sm.put_resource_policy(SecretId=SECRET_NAME, ResourcePolicy=json.dumps(resource_policy(account)),
                           BlockPublicPolicy=True)

    iam.create_user(UserName=USER_NAME)
    iam.put_user_policy(UserName=USER_NAME, PolicyName="app", PolicyDocument=policy)
    user = iam.create_access_key(UserName=USER_NAME)["AccessKey"]

    assumed = client("sts", endpoint, region, deployer).assume_role(
        RoleArn=role_arn, RoleSessionName=SESSION_NAME, DurationSeconds=SESSION_SECONDS)
    session = assumed["Credentials"]

    principals = {
        "root": {"AccessKeyId": root["AccessKeyId"], "SecretAccessKey": root["SecretAccessKey"]},
        "user": {"AccessKeyId": user["AccessKeyId"], "SecretAccessKey": user["SecretAccessKey"]},
        "session": {"AccessKeyId": session["AccessKeyId"],
                    "SecretAccessKey": session["SecretAccessKey"],
                    "SessionToken": session["SessionToken"]},
    }
    expected_arn = {
        "root": f"arn:aws:iam::{account}:root",
        "user": f"arn:aws:iam::{account}:user/{USER_NAME}",
        "session": f"arn:aws:sts::{account}:assumed-role/{ROLE_NAME}/{SESSION_NAME}",
    }

    # The policies really are evaluated: each principal is who it should be and reads the
    # secret, and what the policies forbid is refused.
    for name, creds in principals.items():
        arn = client("sts", endpoint, region, creds).get_caller_identity()["Arn"]
        if arn != expected_arn[name]:
            sys.exit(f"GetCallerIdentity of {name}: {arn}, expected {expected_arn[name]}")
        got = client("secretsmanager", endpoint, region, creds).get_secret_value(SecretId=SECRET_NAME)
        if got["SecretString"] != make_request.SECRET_STRING:
            sys.exit(f"GetSecretValue as {name} returned a different SecretString")
    user_sm = client("secretsmanager", endpoint, region, principals["user"])
    session_sm = client("secretsmanager", endpoint, region, principals["session"])
    expect_denied("app-user reading the untagged secret (aws:ResourceTag condition)",
                  lambda: user_sm.get_secret_value(SecretId=UNTAGGED_NAME))
    expect_denied("the session's DeleteSecret (identity-policy Deny)",
                  lambda: session_sm.delete_secret(SecretId=SECRET_NAME))
    expect_denied("the root's DeleteSecret (resource-policy Deny)",
                  lambda: sm.delete_secret(SecretId=SECRET_NAME))
    expect_denied("deployer's GetSecretValue (no policy allows it)",
                  lambda: client("secretsmanager", endpoint, region, deployer)
                  .get_secret_value(SecretId=SECRET_NAME))

    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, "principals.json")
    with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
        json.dump(principals, f)
    print(f"SECRET_NAME={SECRET_NAME}")
    print(f"SECRET_ARN={secret_arn}")
    print(f"SECRET_BYTES={len(make_request.SECRET_STRING.encode())}")
    print(f"ROOT_ARN={expected_arn['root']}")
    print(f"USER_ARN={expected_arn['user']}")
    print(f"SESSION_ARN={expected_arn['session']}")
    print(f"ROLE_ARN={role_arn}")
    print(f"SESSION_EXPIRES={session['Expiration'].strftime('%Y-%m-%dT%H:%M:%SZ')}")
    print(f"POLICY_BYTES={len(policy.encode())}")
    print(f"RESOURCE_POLICY_BYTES={len(json.dumps(resource_policy(account)).encode())}")


def sign(endpoint, out_dir, principal):
    region = os.environ.get("AWS_REGION", "us-east-1")
    with open(os.path.join(out_dir, "principals.json")) as f:
        principals = json.load(f)
    if principal not in principals:
        sys.exit(f"unknown principal {principal!r} (root, user or session)")
    c = principals[principal]
    creds = Credentials(c["AccessKeyId"], c["SecretAccessKey"], c.get("SessionToken"))
    body = json.dumps({"SecretId": SECRET_NAME}, separators=(",", ":"))
    headers = make_request.sign_json_request(creds, region, "secretsmanager", endpoint,
                                             "secretsmanager.GetSecretValue", body)
    if c.get("SessionToken") and not any(k.lower() == "x-amz-security-token" for k, _ in headers):
        sys.exit("the signed request of the session carries no X-Amz-Security-Token")
    make_request.write_replay_files(
        out_dir, f"{principal}.lua", f"{principal}.body", f"{principal}.curl", body, headers,
        f"-- generated by bench/authz_setup.py: replay one pre-signed GetSecretValue as {principal}\n")


def main():
    args = sys.argv[1:]
    if len(args) == 3 and args[0] == "setup":
        make_request.check_loopback(args[1])
        setup(args[1].rstrip("/"), args[2])
    elif len(args) == 4 and args[0] == "sign":
        make_request.check_loopback(args[1])
        sign(args[1].rstrip("/"), args[2], args[3])
    else:
        sys.exit("usage: authz_setup.py setup ENDPOINT OUT_DIR | sign ENDPOINT OUT_DIR PRINCIPAL")


if __name__ == "__main__":
    main()
