// BatchGetSecretValue through the AWS SDK for JavaScript v3: by SecretIdList (with a
// per-secret Errors[] entry for a missing id), by name Filters, and MaxResults paging.

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';

import {
  BatchGetSecretValueCommand,
  CreateSecretCommand,
} from '@aws-sdk/client-secrets-manager';

import {
  assertRecentDate,
  expectAwsError,
  smClient,
  startCoffer,
} from './helpers/coffer.mjs';

let server;
let sm;
const prefix = `e2e/batch/${randomUUID().slice(0, 8)}/`;
const secrets = {}; // name -> {arn, versionId, value}

before(async () => {
  server = await startCoffer();
  sm = smClient(server);
  for (const leaf of ['alpha', 'beta', 'gamma']) {
    const name = `${prefix}${leaf}`;
    const value = JSON.stringify({ leaf, n: randomUUID() });
    const out = await sm.send(new CreateSecretCommand({ Name: name, SecretString: value }));
    secrets[name] = { arn: out.ARN, versionId: out.VersionId, value };
  }
  // A decoy whose name shares no prefix with the filter below.
  await sm.send(
    new CreateSecretCommand({ Name: `e2e/batch-decoy/${randomUUID().slice(0, 8)}`, SecretString: 'decoy' }),
  );
});

after(async () => {
  sm?.destroy();
  const info = await server?.stop();
  if (info) assert.equal(info.code, 0, `coffer exit on SIGTERM: ${JSON.stringify(info)}`);
});

function assertSecretValueEntry(entry) {
  const want = secrets[entry.Name];
  assert.ok(want, `unexpected secret in the batch: ${entry.Name}`);
  assert.equal(entry.ARN, want.arn);
  assert.equal(entry.VersionId, want.versionId);
  assert.equal(entry.SecretString, want.value);
  assert.equal(entry.SecretBinary, undefined);
  assert.deepEqual(entry.VersionStages, ['AWSCURRENT']);
  assertRecentDate(entry.CreatedDate, `${entry.Name}.CreatedDate`);
}

describe('BatchGetSecretValue', () => {
  test('SecretIdList returns the found values and an Errors[] entry for a missing id', async () => {
    const [alpha, beta] = Object.keys(secrets);
    const missing = `${prefix}does-not-exist`;
    const out = await sm.send(
      new BatchGetSecretValueCommand({ SecretIdList: [alpha, secrets[beta].arn, missing] }),
    );
    assert.equal(out.SecretValues.length, 2);
    for (const entry of out.SecretValues) assertSecretValueEntry(entry);
    assert.deepEqual(out.SecretValues.map((e) => e.Name).sort(), [alpha, beta].sort());
    assert.equal(out.Errors.length, 1);
    assert.equal(out.Errors[0].SecretId, missing);
    assert.equal(out.Errors[0].ErrorCode, 'ResourceNotFoundException');
    assert.equal(typeof out.Errors[0].Message, 'string');
    assert.equal(out.NextToken, undefined);
  });

  test('Filters with a name prefix return exactly the matching secrets', async () => {
    const out = await sm.send(
      new BatchGetSecretValueCommand({ Filters: [{ Key: 'name', Values: [prefix] }] }),
    );
    assert.deepEqual(out.SecretValues.map((e) => e.Name).sort(), Object.keys(secrets).sort());
    for (const entry of out.SecretValues) assertSecretValueEntry(entry);
    assert.deepEqual(out.Errors ?? [], []);
  });

  test('MaxResults pages through the filtered secrets with NextToken', async () => {
    const seen = [];
    const tokens = new Set();
    let nextToken;
    let pages = 0;
    do {
      const out = await sm.send(
        new BatchGetSecretValueCommand({
          Filters: [{ Key: 'name', Values: [prefix] }],
          MaxResults: 2,
          NextToken: nextToken,
        }),
      );
      pages += 1;
      assert.ok(out.SecretValues.length <= 2, `page ${pages} has ${out.SecretValues.length} > 2`);
      for (const entry of out.SecretValues) assertSecretValueEntry(entry);
      seen.push(...out.SecretValues.map((e) => e.Name));
      nextToken = out.NextToken;
      if (nextToken !== undefined) {
        assert.ok(!tokens.has(nextToken), 'NextToken repeated: pagination would loop');
        tokens.add(nextToken);
      }
      assert.ok(pages <= 10, 'too many pages');
    } while (nextToken !== undefined);
    assert.ok(pages >= 2, `3 matches with MaxResults 2 must take at least 2 pages, took ${pages}`);
    assert.deepEqual(seen.sort(), Object.keys(secrets).sort(), 'every secret exactly once');
  });

  test('SecretIdList and Filters together is InvalidParameterException', async () => {
    await expectAwsError(
      sm.send(
        new BatchGetSecretValueCommand({
          SecretIdList: [Object.keys(secrets)[0]],
          Filters: [{ Key: 'name', Values: [prefix] }],
        }),
      ),
      'InvalidParameterException',
      { httpStatus: 400 },
    );
  });

  test('MaxResults without Filters is InvalidParameterException', async () => {
    await expectAwsError(
      sm.send(
        new BatchGetSecretValueCommand({ SecretIdList: [Object.keys(secrets)[0]], MaxResults: 2 }),
      ),
      'InvalidParameterException',
      { httpStatus: 400 },
    );
  });
});
