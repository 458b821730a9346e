// The audit trail through the AWS SDK for JavaScript v3: LookupEvents by attribute, the SDK's
// paginator, CloudTrailEvent as a JSON string, CloudTrail's validation errors, and the public key
// the trail's digest files are signed with.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  ListPublicKeysCommand,
  LookupEventsCommand,
  paginateLookupEvents,
} from '@aws-sdk/client-cloudtrail';
import { createHash, createPublicKey } from 'node:crypto';
import { CreateSecretCommand, GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';

import {
  ACCESS_KEY_ID,
  ACCOUNT_ID,
  cloudTrailClient,
  expectAwsError,
  sleep,
  smClient,
  startCoffer,
  uniqueName,
} from './helpers/coffer.mjs';

let server;
let sm;
let ct;

before(async () => {
  // Log files every second and a digest every second: the digest key exists within seconds.
  server = await startCoffer({ args: ['--audit-log-interval', '1', '--audit-digest-interval', '1'] });
  sm = smClient(server);
  ct = cloudTrailClient(server);
});

after(async () => {
  sm?.destroy();
  ct?.destroy();
  const info = await server?.stop();
  if (info) assert.equal(info.code, 0, `coffer exit on SIGTERM: ${JSON.stringify(info)}`);
});

/** Every event of a lookup through the SDK's paginator; polls until `want` are indexed. */
async function lookupAll(input, want) {
  for (let attempt = 0; ; attempt++) {
    const events = [];
    for await (const page of paginateLookupEvents({ client: ct, pageSize: 2 }, input)) {
      events.push(...(page.Events ?? []));
    }
    if (events.length >= want || attempt >= 50) return events;
    await sleep(100);
  }
}

describe('LookupEvents', () => {
  test('finds who read a secret, newest first, with the CloudTrail record as JSON', async () => {
    const name = uniqueName('audit/js');
    const value = `js-canary-${Date.now()}-never-in-the-trail`;
    const { ARN } = await sm.send(new CreateSecretCommand({ Name: name, SecretString: value }));
    for (let i = 0; i < 3; i++) await sm.send(new GetSecretValueCommand({ SecretId: name }));

    const events = await lookupAll(
      { LookupAttributes: [{ AttributeKey: 'ResourceName', AttributeValue: ARN }] }, 4);
    assert.deepEqual(events.map((e) => e.EventName),
      ['GetSecretValue', 'GetSecretValue', 'GetSecretValue', 'CreateSecret']);
    for (let i = 1; i < events.length; i++) {
      assert.ok(events[i - 1].EventTime >= events[i].EventTime, 'newest first');
    }
    const read = events[0];
    assert.ok(read.EventTime instanceof Date);
    assert.equal(read.Username, 'root');
    assert.equal(read.AccessKeyId, ACCESS_KEY_ID);
    assert.equal(read.ReadOnly, 'true');
    assert.deepEqual(read.Resources, [{ ResourceType: 'AWS::SecretsManager::Secret', ResourceName: ARN }]);
    const record = JSON.parse(read.CloudTrailEvent);
    assert.equal(record.eventName, 'GetSecretValue');
    assert.equal(record.recipientAccountId, ACCOUNT_ID);
    assert.equal(record.responseElements, null);
    assert.match(record.userAgent, /aws-sdk-js/);
    for (const e of events) assert.ok(!e.CloudTrailEvent.includes(value), 'no secret value');
  });

  test('answers CloudTrail validation errors', async () => {
    await expectAwsError(ct.send(new LookupEventsCommand({ MaxResults: 51 })),
      'InvalidMaxResultsException', { httpStatus: 400 });
    await expectAwsError(ct.send(new LookupEventsCommand({
      LookupAttributes: [
        { AttributeKey: 'EventName', AttributeValue: 'GetSecretValue' },
        { AttributeKey: 'Username', AttributeValue: 'root' },
      ],
    })), 'InvalidLookupAttributesException');
    await expectAwsError(ct.send(new LookupEventsCommand({ NextToken: 'bm90IGEgdG9rZW4=' })),
      'InvalidNextTokenException');
    await expectAwsError(ct.send(new LookupEventsCommand({
      StartTime: new Date(), EndTime: new Date(Date.now() - 3_600_000),
    })), 'InvalidTimeRangeException');
  });
});

describe('ListPublicKeys', () => {
  test('returns the RSA key digests are signed with, as a DER PKCS#1 blob', async () => {
    await sm.send(new CreateSecretCommand({ Name: uniqueName('audit/key'), SecretString: 'k-1' }));
    let keys = [];
    for (let attempt = 0; attempt < 100 && keys.length === 0; attempt++) {
      ({ PublicKeyList: keys = [] } = await ct.send(new ListPublicKeysCommand({})));
      if (keys.length === 0) await sleep(100);
    }
    assert.equal(keys.length, 1);
    const [key] = keys;
    assert.ok(key.Value instanceof Uint8Array);
    assert.match(key.Fingerprint, /^[0-9a-f]{32}$/);
    assert.ok(key.ValidityStartTime instanceof Date);
    const publicKey = createPublicKey({ key: Buffer.from(key.Value), format: 'der', type: 'pkcs1' });
    assert.equal(publicKey.asymmetricKeyType, 'rsa');
    assert.equal(publicKey.asymmetricKeyDetails.modulusLength, 2048);
    const fingerprint = createHash('sha256').update(key.Value).digest('hex').slice(0, 32);
    assert.equal(key.Fingerprint, fingerprint);
    await expectAwsError(ct.send(new ListPublicKeysCommand({
      StartTime: new Date(), EndTime: new Date(Date.now() - 3_600_000),
    })), 'InvalidTimeRangeException');
  });
});
