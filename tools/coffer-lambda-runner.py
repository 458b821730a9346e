#!/usr/bin/env python3
"""Runs an AWS Lambda rotation function under coffer's `exec` rotation kind.

    coffer-lambda-runner.py /path/to/module.py [handler]

coffer starts this program for each rotation step with the Lambda event (Step, SecretId,
ClientRequestToken, RotationToken) as JSON on stdin and, in the environment, temporary
credentials of the function's execution role, AWS_REGION, AWS_ENDPOINT_URL and the
SECRETS_MANAGER_ENDPOINT variable that AWS's rotation templates read. The runner loads the
module, builds a Lambda-like context and calls `handler` (default `lambda_handler`), so the same
file that runs on AWS Lambda runs here unchanged. Exit status 0 means the step succeeded; an
exception is printed (its traceback goes to coffer's audit after secret values are removed) and
the exit status is 1.
"""

import importlib.util
import json
import os
import sys
import time
import traceback
import uuid


class LambdaContext:
    """The members of the Lambda context object rotation functions use."""

    def __init__(self, name, timeout_seconds):
        self.function_name = name
        self.function_version = "$LATEST"
        region = os.environ.get("AWS_REGION", "us-east-1")
        self.invoked_function_arn = f"arn:aws:lambda:{region}::function:{name}"
        self.memory_limit_in_mb = "128"
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{name}"
        self.log_stream_name = "coffer"
        self._deadline = time.monotonic() + timeout_seconds

    def get_remaining_time_in_millis(self):
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def main(argv):
    if len(argv) not in (2, 3):
        print(__doc__, file=sys.stderr)
        return 2
    path = argv[1]
    handler_name = argv[2] if len(argv) == 3 else "lambda_handler"
    # Before botocore 1.31 only the endpoint variable the templates read is honoured.
    os.environ.setdefault("SECRETS_MANAGER_ENDPOINT", os.environ.get("AWS_ENDPOINT_URL", ""))
    spec = importlib.util.spec_from_file_location("rotation_function", path)
    if spec is None or spec.loader is None:
        print(f"cannot load {path}", file=sys.stderr)
        return 2
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
    spec.loader.exec_module(module)
    handler = getattr(module, handler_name)
    event = json.load(sys.stdin)
    name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", os.path.splitext(os.path.basename(path))[0])
    timeout = int(os.environ.get("AWS_LAMBDA_FUNCTION_TIMEOUT", "300"))
    try:
        handler(event, LambdaContext(name, timeout))
    except Exception:  # the step failed: report it as Lambda would
        traceback.print_exc()
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
