// Authentication through the AWS SDK for JavaScript v3: STS GetCallerIdentity, SigV4
// failures (wrong secret key, unknown access key, no signature), and the SDK's clock-skew
// correction, which relies on the server rejecting stale signatures with a clock-skew error
// code and sending an accurate Date header.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { GetRandomPasswordCommand, ListSecretsCommand } from '@aws-sdk/client-secrets-manager';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';

import {
  ACCESS_KEY_ID,
  ACCOUNT_ID,
  SECRET_ACCESS_KEY,
  expectAwsError,
  smClient,
  startCoffer,
  staticCredentials,
  stsClient,
} from './helpers/coffer.mjs';

const FIFTEEN_MINUTES_MS = 15 * 60 * 1000;

let server;
const clients = [];
const track = (c) => {
  clients.push(c);
  return c;
};

before(async () => {
  server = await startCoffer();
});

after(async () => {
  for (const c of clients) c.destroy();
  const info = await server?.stop();
  if (info) assert.equal(info.code, 0, `coffer exit on SIGTERM: ${JSON.stringify(info)}`);
});

describe('STS GetCallerIdentity', () => {
  test('the root access key is the account root', async () => {
    const sts = track(stsClient(server));
    const out = await sts.send(new GetCallerIdentityCommand({}));
    assert.equal(out.Account, ACCOUNT_ID);
    assert.equal(out.Arn, `arn:aws:iam::${ACCOUNT_ID}:root`);
    assert.equal(out.UserId, ACCOUNT_ID);
    assert.equal(typeof out.$metadata.requestId, 'string');
    assert.ok(out.$metadata.requestId.length > 0, 'RequestId missing from ResponseMetadata');
  });

  test('a wrong secret key is SignatureDoesNotMatch', async () => {
    const sts = track(
      stsClient(server, {
        credentials: staticCredentials(ACCESS_KEY_ID, `${SECRET_ACCESS_KEY.slice(0, -1)}X`),
        maxAttempts: 1,
      }),
    );
    await expectAwsError(sts.send(new GetCallerIdentityCommand({})), 'SignatureDoesNotMatch');
  });

  test('an unknown access key is InvalidClientTokenId', async () => {
    const sts = track(
      stsClient(server, {
        credentials: staticCredentials('AKIAI44QH8DHBEXAMPLE', SECRET_ACCESS_KEY),
        maxAttempts: 1,
      }),
    );
    await expectAwsError(sts.send(new GetCallerIdentityCommand({})), 'InvalidClientTokenId');
  });
});

describe('SigV4 on Secrets Manager', () => {
  test('a wrong secret key is InvalidSignatureException', async () => {
    const sm = track(
      smClient(server, {
        credentials: staticCredentials(ACCESS_KEY_ID, 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYWRONGKEY00'),
        maxAttempts: 1,
      }),
    );
    await expectAwsError(sm.send(new ListSecretsCommand({})), 'InvalidSignatureException', {
      message: /signature we calculated does not match/,
    });
  });

  test('an unknown access key is UnrecognizedClientException', async () => {
    const sm = track(
      smClient(server, {
        credentials: staticCredentials('AKIAI44QH8DHBEXAMPLE', SECRET_ACCESS_KEY),
        maxAttempts: 1,
      }),
    );
    await expectAwsError(sm.send(new ListSecretsCommand({})), 'UnrecognizedClientException', {
      message: 'The security token included in the request is invalid.',
    });
  });

  test('an unsigned request is rejected with MissingAuthenticationTokenException', async () => {
    const res = await fetch(server.endpoint, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/x-amz-json-1.1',
        'X-Amz-Target': 'secretsmanager.ListSecrets',
      },
      body: '{}',
    });
    const text = await res.text();
    assert.ok(res.status >= 400 && res.status < 500, `HTTP ${res.status}: ${text}`);
    assert.equal(JSON.parse(text).__type, 'MissingAuthenticationTokenException', text);
    assert.ok(!/SecretList/.test(text), 'an unsigned request must not see data');
  });
});

// How this SDK version (see package-lock.json) corrects skew, from @aws-sdk/core's
// AwsSdkSigV4Signer and @smithy's retry classification:
//  - every response's Date header (errors included) resets client.config.systemClockOffset;
//  - an InvalidSignatureException whose message contains "Signature expired" is a transient
//    error, so the request is retried, now signed with the corrected clock;
//  - other clock-skew codes (SignatureDoesNotMatch on STS) are retried only when the corrected
//    offset itself is 4 minutes or more; with a simulated offset the machine clock is right, so
//    the offset is corrected but the failed call is not retried, and the next call succeeds.
describe('clock skew', () => {
  test('a client 15 minutes behind succeeds after the SDK corrects its clock from the Date header', async () => {
    const sm = track(smClient(server, { systemClockOffset: -FIFTEEN_MINUTES_MS }));
    const out = await sm.send(new GetRandomPasswordCommand({ PasswordLength: 16 }));
    assert.equal(out.RandomPassword.length, 16);
    // The first, stale attempt must have been rejected (AWS allows 5 minutes of skew) and
    // retried with the corrected clock.
    assert.equal(out.$metadata.attempts, 2, 'expected one rejected attempt and one retry');
    assert.ok(
      Math.abs(sm.config.systemClockOffset) < 60_000,
      `systemClockOffset should be corrected to ~0, is ${sm.config.systemClockOffset}`,
    );
    // Later calls are signed with the corrected clock straight away.
    const again = await sm.send(new GetRandomPasswordCommand({ PasswordLength: 16 }));
    assert.equal(again.$metadata.attempts, 1);
  });

  test('a signature 15 minutes old is InvalidSignatureException "Signature expired"', async () => {
    const sm = track(smClient(server, { systemClockOffset: -FIFTEEN_MINUTES_MS, maxAttempts: 1 }));
    await expectAwsError(sm.send(new ListSecretsCommand({})), 'InvalidSignatureException', {
      httpStatus: 400,
      message: /^Signature expired: \d{8}T\d{6}Z is now earlier than \d{8}T\d{6}Z/,
    });
    // The error response carried an accurate Date header.
    assert.ok(
      Math.abs(sm.config.systemClockOffset) < 60_000,
      `systemClockOffset should be corrected to ~0, is ${sm.config.systemClockOffset}`,
    );
  });

  test('a signature 15 minutes ahead is InvalidSignatureException "Signature not yet current"', async () => {
    const sm = track(smClient(server, { systemClockOffset: FIFTEEN_MINUTES_MS, maxAttempts: 1 }));
    await expectAwsError(sm.send(new ListSecretsCommand({})), 'InvalidSignatureException', {
      httpStatus: 400,
      message: /^Signature not yet current: \d{8}T\d{6}Z is still later than \d{8}T\d{6}Z/,
    });
    assert.ok(Math.abs(sm.config.systemClockOffset) < 60_000);
  });

  test('STS: a stale signature is SignatureDoesNotMatch, the clock is corrected, the next call succeeds', async () => {
    const sts = track(stsClient(server, { systemClockOffset: -FIFTEEN_MINUTES_MS }));
    await expectAwsError(sts.send(new GetCallerIdentityCommand({})), 'SignatureDoesNotMatch', {
      message: /^Signature expired: \d{8}T\d{6}Z is now earlier than \d{8}T\d{6}Z/,
    });
    assert.ok(
      Math.abs(sts.config.systemClockOffset) < 60_000,
      `systemClockOffset should be corrected to ~0, is ${sts.config.systemClockOffset}`,
    );
    const out = await sts.send(new GetCallerIdentityCommand({}));
    assert.equal(out.Account, ACCOUNT_ID);
    assert.equal(out.$metadata.attempts, 1);
  });
});
