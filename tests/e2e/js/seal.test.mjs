// A Shamir-sealed server as the JavaScript SDK sees it: every service answers 503
// ServiceUnavailableException until enough shares arrive over POST /coffer/unseal, then
// serves normally; `coffer operator seal` (here: the signed endpoint through the CLI) seals it
// again and the data comes back after the next unseal.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';

import {
  CreateSecretCommand,
  GetSecretValueCommand,
  ListSecretsCommand,
} from '@aws-sdk/client-secrets-manager';
import { GetParameterCommand } from '@aws-sdk/client-ssm';
import { ListKeysCommand } from '@aws-sdk/client-kms';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';

import {
  ACCESS_KEY_ID,
  ACCOUNT_ID,
  SECRET_ACCESS_KEY,
  cofferBinary,
  expectAwsError,
  kmsClient,
  smClient,
  ssmClient,
  startCoffer,
  stsClient,
  uniqueName,
} from './helpers/coffer.mjs';

const cleanups = [];
after(async () => {
  for (const fn of cleanups.reverse()) await fn();
});

const once = { maxAttempts: 1 }; // 503 is retryable; see the error at once

async function sealStatus(server) {
  const res = await fetch(`${server.endpoint}/coffer/seal-status`);
  assert.equal(res.status, 200);
  return res.json();
}

async function giveShare(server, share) {
  const res = await fetch(`${server.endpoint}/coffer/unseal`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ Share: share }),
  });
  return { status: res.status, body: await res.json() };
}

test('a Shamir-sealed server refuses every SDK call with 503 until the threshold of shares', async () => {
  const root = await mkdtemp(path.join(os.tmpdir(), 'coffer-e2e-js-seal-'));
  cleanups.push(() => rm(root, { recursive: true, force: true }));
  const dataDir = path.join(root, 'data');
  const out = execFileSync(
    cofferBinary(),
    ['operator', 'init', '--data-dir', dataDir, '--account-id', ACCOUNT_ID, '--seal', 'shamir',
      '--key-shares', '3', '--key-threshold', '2'],
    {
      env: {
        ...process.env,
        COFFER_ROOT_ACCESS_KEY_ID: ACCESS_KEY_ID,
        COFFER_ROOT_SECRET_ACCESS_KEY: SECRET_ACCESS_KEY,
      },
      encoding: 'utf8',
    },
  );
  const shares = [...out.matchAll(/^Unseal share \d+: (\S+)$/gm)].map((m) => m[1]);
  assert.equal(shares.length, 3, out);

  const server = await startCoffer({ dataDir });
  cleanups.push(() => server.stop());
  const health = await fetch(`${server.endpoint}/health`);
  assert.equal(health.status, 503);
  assert.equal((await health.json()).sealed, true);

  const sm = smClient(server, once);
  await expectAwsError(sm.send(new ListSecretsCommand({})), 'ServiceUnavailableException', {
    httpStatus: 503,
    message: /sealed/,
  });
  await expectAwsError(
    ssmClient(server, once).send(new GetParameterCommand({ Name: '/x' })),
    'ServiceUnavailableException',
    { httpStatus: 503 },
  );
  await expectAwsError(
    kmsClient(server, once).send(new ListKeysCommand({})),
    'ServiceUnavailableException',
    { httpStatus: 503 },
  );
  await expectAwsError(
    stsClient(server, once).send(new GetCallerIdentityCommand({})),
    'ServiceUnavailable',
    { httpStatus: 503 },
  );

  const first = await giveShare(server, shares[2]);
  assert.equal(first.status, 200);
  assert.deepEqual(
    { Sealed: first.body.Sealed, Progress: first.body.Progress, Threshold: first.body.Threshold },
    { Sealed: true, Progress: 1, Threshold: 2 },
  );
  await expectAwsError(sm.send(new ListSecretsCommand({})), 'ServiceUnavailableException');
  const again = await giveShare(server, shares[2]);
  assert.equal(again.status, 400);
  assert.equal(again.body.__type, 'InvalidParameterException');
  const second = await giveShare(server, shares[0]);
  assert.equal(second.status, 200);
  assert.equal(second.body.Sealed, false);

  const name = uniqueName('sealed');
  await sm.send(new CreateSecretCommand({ Name: name, SecretString: 'behind the seal' }));
  const identity = await stsClient(server).send(new GetCallerIdentityCommand({}));
  assert.equal(identity.Account, ACCOUNT_ID);

  // Seal the running server through the operator CLI (SigV4-signed with the root key).
  execFileSync(
    cofferBinary(),
    ['operator', 'seal', '--endpoint', server.endpoint],
    {
      env: {
        ...process.env,
        AWS_ACCESS_KEY_ID: ACCESS_KEY_ID,
        AWS_SECRET_ACCESS_KEY: SECRET_ACCESS_KEY,
      },
      encoding: 'utf8',
    },
  );
  assert.equal((await sealStatus(server)).Sealed, true);
  await expectAwsError(
    sm.send(new GetSecretValueCommand({ SecretId: name })),
    'ServiceUnavailableException',
    { httpStatus: 503 },
  );
  assert.equal((await giveShare(server, shares[1])).body.Sealed, true);
  assert.equal((await giveShare(server, shares[2])).body.Sealed, false);
  const value = await sm.send(new GetSecretValueCommand({ SecretId: name }));
  assert.equal(value.SecretString, 'behind the seal');
  assert.doesNotMatch(server.stdout + server.stderr, /behind the seal/);
  for (const share of shares) assert.ok(!(server.stdout + server.stderr).includes(share));
});
