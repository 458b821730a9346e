// KMS through the AWS SDK for JavaScript v3 (@aws-sdk/client-kms): CreateKey/DescribeKey (by key
// id, key ARN, alias name and alias ARN), Encrypt/Decrypt/ReEncrypt with Uint8Array blobs and an
// EncryptionContext, GenerateDataKey(WithoutPlaintext), GenerateRandom, key states
// (Disable/EnableKey, Schedule/CancelKeyDeletion), aliases, rotation (automatic and on demand),
// key policies, tags, ListKeys paging, a Secrets Manager secret under a customer-managed key, the
// raw JSON 1.1 wire format, and the service's error classes.

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';

import {
  CancelKeyDeletionCommand,
  CreateAliasCommand,
  CreateKeyCommand,
  DecryptCommand,
  DeleteAliasCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  DisableKeyRotationCommand,
  EnableKeyCommand,
  EnableKeyRotationCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  GenerateDataKeyWithoutPlaintextCommand,
  GenerateRandomCommand,
  GetKeyPolicyCommand,
  GetKeyRotationStatusCommand,
  ListAliasesCommand,
  ListKeyPoliciesCommand,
  ListKeyRotationsCommand,
  ListKeysCommand,
  ListResourceTagsCommand,
  PutKeyPolicyCommand,
  ReEncryptCommand,
  RotateKeyOnDemandCommand,
  ScheduleKeyDeletionCommand,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateAliasCommand,
  UpdateKeyDescriptionCommand,
  paginateListAliases,
  paginateListKeys,
} from '@aws-sdk/client-kms';
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
} from '@aws-sdk/client-secrets-manager';

import {
  ACCOUNT_ID,
  REGION,
  assertRecentDate,
  captureRawResponses,
  expectAwsError,
  kmsClient,
  smClient,
  startCoffer,
} from './helpers/coffer.mjs';

const RUN = randomUUID().slice(0, 8);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const KEY_ARN_PREFIX = `arn:aws:kms:${REGION}:${ACCOUNT_ID}:key/`;
const ALIAS_ARN_PREFIX = `arn:aws:kms:${REGION}:${ACCOUNT_ID}:`;
const DAY_MS = 24 * 60 * 60 * 1000;
const enc = new TextEncoder();

let server;
let kms;
let sm;

before(async () => {
  server = await startCoffer();
  kms = kmsClient(server);
  sm = smClient(server);
});

after(async () => {
  kms?.destroy();
  sm?.destroy();
  const info = await server?.stop();
  if (info) assert.equal(info.code, 0, `coffer exit on SIGTERM: ${JSON.stringify(info)}`);
});

// ------------------------------------------------------------------ helpers
const send = (command) => kms.send(command);
const createKey = async (input = {}) => (await send(new CreateKeyCommand(input))).KeyMetadata;
const describeKey = async (KeyId) => (await send(new DescribeKeyCommand({ KeyId }))).KeyMetadata;
const encrypt = (KeyId, Plaintext, EncryptionContext) =>
  send(new EncryptCommand({ KeyId, Plaintext, EncryptionContext }));
const decrypt = (CiphertextBlob, EncryptionContext, KeyId) =>
  send(new DecryptCommand({ CiphertextBlob, EncryptionContext, KeyId }));
const tagsOf = async (KeyId) =>
  [...((await send(new ListResourceTagsCommand({ KeyId }))).Tags ?? [])]
    .map(({ TagKey, TagValue }) => ({ TagKey, TagValue }))
    .sort((a, b) => a.TagKey.localeCompare(b.TagKey));
const alias = (name) => `alias/e2e-js-${RUN}-${name}`;

/** Asserts `actual` is a Uint8Array holding exactly `expected`'s bytes. */
function assertBytes(actual, expected, what) {
  assert.ok(actual instanceof Uint8Array, `${what} should be a Uint8Array, got ${typeof actual}`);
  assert.deepEqual(Buffer.from(actual), Buffer.from(expected), `${what} bytes differ`);
}

/** Asserts `d` is a Date about `offsetMs` from now (give or take `slackMs`). */
function assertDateAround(d, offsetMs, what, slackMs = 10 * 60_000) {
  assert.ok(d instanceof Date, `${what} should be a Date, got ${typeof d}: ${d}`);
  const delta = d.getTime() - (Date.now() + offsetMs);
  assert.ok(Math.abs(delta) <= slackMs, `${what} ${d.toISOString()} is ${delta} ms off`);
}

function indexOfBytes(haystack, needle) {
  return Buffer.from(haystack).indexOf(Buffer.from(needle));
}

// ------------------------------------------------------------------ keys
describe('CreateKey / DescribeKey / ListKeys', () => {
  let key;
  const ALIAS = alias('describe');

  before(async () => {
    key = await createKey({
      Description: 'js e2e key',
      Tags: [
        { TagKey: 'project', TagValue: 'coffer' },
        { TagKey: 'env', TagValue: 'test' },
      ],
    });
    await send(new CreateAliasCommand({ AliasName: ALIAS, TargetKeyId: key.KeyId }));
  });

  test('CreateKey returns the metadata of a symmetric customer-managed key', () => {
    assert.match(key.KeyId, UUID);
    assert.equal(key.Arn, KEY_ARN_PREFIX + key.KeyId);
    assert.equal(key.AWSAccountId, ACCOUNT_ID);
    assertRecentDate(key.CreationDate, 'CreationDate');
    assert.equal(key.Enabled, true);
    assert.equal(key.KeyState, 'Enabled');
    assert.equal(key.Description, 'js e2e key');
    assert.equal(key.KeyUsage, 'ENCRYPT_DECRYPT');
    assert.equal(key.KeySpec, 'SYMMETRIC_DEFAULT');
    assert.equal(key.CustomerMasterKeySpec, 'SYMMETRIC_DEFAULT');
    assert.deepEqual(key.EncryptionAlgorithms, ['SYMMETRIC_DEFAULT']);
    assert.equal(key.KeyManager, 'CUSTOMER');
    assert.equal(key.Origin, 'AWS_KMS');
    assert.equal(key.MultiRegion, false);
    assert.equal(key.DeletionDate, undefined);
  });

  test('DescribeKey by alias name, alias ARN, key id and key ARN', async () => {
    for (const ref of [ALIAS, ALIAS_ARN_PREFIX + ALIAS, key.KeyId, key.Arn]) {
      const m = await describeKey(ref);
      assert.equal(m.KeyId, key.KeyId, `DescribeKey(${ref})`);
      assert.equal(m.Arn, key.Arn);
      assert.equal(m.Description, 'js e2e key');
      assert.equal(m.CreationDate.getTime(), key.CreationDate.getTime());
    }
  });

  test('CreateKey with Tags: ListResourceTags shows them', async () => {
    assert.deepEqual(await tagsOf(key.KeyId), [
      { TagKey: 'env', TagValue: 'test' },
      { TagKey: 'project', TagValue: 'coffer' },
    ]);
  });

  test('UpdateKeyDescription', async () => {
    const other = await createKey({ Description: 'before' });
    await send(new UpdateKeyDescriptionCommand({ KeyId: other.KeyId, Description: 'after' }));
    assert.equal((await describeKey(other.Arn)).Description, 'after');
  });

  test('ListKeys lists every key; Limit pages with Marker/Truncated', async () => {
    const extra = [await createKey(), await createKey()];
    const all = [];
    let pages = 0;
    for await (const page of paginateListKeys({ client: kms, pageSize: 1 }, {})) {
      pages += 1;
      assert.ok(page.Keys.length <= 1, 'Limit 1 returns at most one key');
      all.push(...page.Keys);
    }
    assert.ok(pages >= 3, `expected at least 3 pages, got ${pages}`);
    const ids = all.map((k) => k.KeyId);
    assert.equal(new Set(ids).size, ids.length, 'no key listed twice');
    for (const k of [key, ...extra]) {
      const listed = all.find((x) => x.KeyId === k.KeyId);
      assert.ok(listed, `${k.KeyId} listed`);
      assert.equal(listed.KeyArn, k.Arn);
    }
    const first = await send(new ListKeysCommand({ Limit: 1 }));
    assert.equal(first.Truncated, true);
    assert.ok(first.NextMarker, 'NextMarker on a truncated page');
  });

  test('unknown keys and aliases are NotFoundException', async () => {
    await expectAwsError(describeKey(randomUUID()), 'NotFoundException', { httpStatus: 400 });
    await expectAwsError(describeKey(`${KEY_ARN_PREFIX}${randomUUID()}`), 'NotFoundException');
    await expectAwsError(describeKey(alias('missing')), 'NotFoundException');
    await expectAwsError(
      encrypt(alias('missing'), enc.encode('x')),
      'NotFoundException',
    );
  });

  test('bad input is ValidationException', async () => {
    await expectAwsError(describeKey(''), 'ValidationException');
    await expectAwsError(createKey({ Description: 'x'.repeat(8193) }), 'ValidationException');
  });
});

// ------------------------------------------------------------------ encryption
describe('Encrypt / Decrypt / ReEncrypt', () => {
  let key;
  let other;
  const ALIAS = alias('crypto');
  const CONTEXT = { app: 'coffer-e2e', purpose: 'round trip', run: RUN };
  // Every byte value, so the base64 blob encoding is exercised end to end.
  const PLAINTEXT = Uint8Array.from({ length: 512 }, (_, i) => i % 256);

  before(async () => {
    key = await createKey({ Description: 'crypto' });
    other = await createKey({ Description: 'crypto other' });
    await send(new CreateAliasCommand({ AliasName: ALIAS, TargetKeyId: key.KeyId }));
  });

  test('Encrypt/Decrypt round trip with an EncryptionContext', async () => {
    const out = await encrypt(ALIAS, PLAINTEXT, CONTEXT);
    assert.ok(out.CiphertextBlob instanceof Uint8Array, 'CiphertextBlob is a Uint8Array');
    assert.ok(out.CiphertextBlob.length > PLAINTEXT.length, 'ciphertext is longer than plaintext');
    assert.equal(indexOfBytes(out.CiphertextBlob, PLAINTEXT.subarray(0, 64)), -1,
      'the ciphertext does not contain the plaintext');
    assert.equal(out.KeyId, key.Arn, 'Encrypt returns the key ARN, not the alias');
    assert.equal(out.EncryptionAlgorithm, 'SYMMETRIC_DEFAULT');

    const plain = await decrypt(out.CiphertextBlob, CONTEXT);
    assertBytes(plain.Plaintext, PLAINTEXT, 'Decrypt Plaintext');
    assert.equal(plain.KeyId, key.Arn, 'Decrypt finds the key from the blob');
    assert.equal(plain.EncryptionAlgorithm, 'SYMMETRIC_DEFAULT');

    // The context is a map: member order does not matter.
    const reordered = Object.fromEntries(Object.entries(CONTEXT).reverse());
    assertBytes((await decrypt(out.CiphertextBlob, reordered)).Plaintext, PLAINTEXT, 'reordered context');
    // Naming the key (id, ARN, alias) is allowed when it is the right one.
    for (const ref of [key.KeyId, key.Arn, ALIAS]) {
      assertBytes((await decrypt(out.CiphertextBlob, CONTEXT, ref)).Plaintext, PLAINTEXT, `KeyId ${ref}`);
    }
  });

  test('two encryptions of the same plaintext differ', async () => {
    const a = await encrypt(key.KeyId, PLAINTEXT);
    const b = await encrypt(key.KeyId, PLAINTEXT);
    assert.notDeepEqual(Buffer.from(a.CiphertextBlob), Buffer.from(b.CiphertextBlob));
  });

  test('Encrypt without a context decrypts without one', async () => {
    const out = await encrypt(key.Arn, enc.encode('no context'));
    assert.equal(Buffer.from((await decrypt(out.CiphertextBlob)).Plaintext).toString(), 'no context');
    await expectAwsError(decrypt(out.CiphertextBlob, { any: 'thing' }), 'InvalidCiphertextException');
  });

  test('an EncryptionContext mismatch is InvalidCiphertextException', async () => {
    const { CiphertextBlob } = await encrypt(ALIAS, PLAINTEXT, CONTEXT);
    const cases = {
      'a different value': { ...CONTEXT, purpose: 'other' },
      'a missing pair': { app: CONTEXT.app, purpose: CONTEXT.purpose },
      'an extra pair': { ...CONTEXT, extra: 'x' },
      'a renamed key': { App: CONTEXT.app, purpose: CONTEXT.purpose, run: RUN },
      'no context': undefined,
    };
    for (const [what, ctx] of Object.entries(cases)) {
      const err = await expectAwsError(decrypt(CiphertextBlob, ctx), 'InvalidCiphertextException');
      assert.equal(err.$metadata.httpStatusCode, 400, what);
    }
  });

  test('a tampered or foreign ciphertext is InvalidCiphertextException', async () => {
    const { CiphertextBlob } = await encrypt(ALIAS, PLAINTEXT, CONTEXT);
    const flipped = Uint8Array.from(CiphertextBlob);
    flipped[flipped.length - 1] ^= 0x01;
    await expectAwsError(decrypt(flipped, CONTEXT), 'InvalidCiphertextException');
    await expectAwsError(decrypt(CiphertextBlob.subarray(0, 20), CONTEXT), 'InvalidCiphertextException');
    await expectAwsError(decrypt(enc.encode('not a kms ciphertext blob at all'), CONTEXT),
      'InvalidCiphertextException');
  });

  test('Decrypt naming another key is IncorrectKeyException', async () => {
    const { CiphertextBlob } = await encrypt(ALIAS, PLAINTEXT, CONTEXT);
    await expectAwsError(decrypt(CiphertextBlob, CONTEXT, other.KeyId), 'IncorrectKeyException');
    await expectAwsError(decrypt(CiphertextBlob, CONTEXT, other.Arn), 'IncorrectKeyException');
  });

  test('ReEncrypt moves a ciphertext to another key and context', async () => {
    const { CiphertextBlob } = await encrypt(ALIAS, PLAINTEXT, CONTEXT);
    const re = await send(new ReEncryptCommand({
      CiphertextBlob,
      SourceEncryptionContext: CONTEXT,
      DestinationKeyId: other.KeyId,
      DestinationEncryptionContext: { moved: 'yes' },
    }));
    assert.equal(re.SourceKeyId, key.Arn);
    assert.equal(re.KeyId, other.Arn);
    assert.equal(re.SourceEncryptionAlgorithm, 'SYMMETRIC_DEFAULT');
    assert.equal(re.DestinationEncryptionAlgorithm, 'SYMMETRIC_DEFAULT');
    const plain = await decrypt(re.CiphertextBlob, { moved: 'yes' });
    assert.equal(plain.KeyId, other.Arn);
    assertBytes(plain.Plaintext, PLAINTEXT, 're-encrypted Plaintext');
    await expectAwsError(decrypt(re.CiphertextBlob, CONTEXT), 'InvalidCiphertextException');
    await expectAwsError(
      send(new ReEncryptCommand({ CiphertextBlob, DestinationKeyId: other.KeyId })),
      'InvalidCiphertextException',
    );
  });

  test('plaintext limits: 4096 bytes is fine, 4097 is ValidationException', async () => {
    const big = new Uint8Array(4096).fill(7);
    const out = await encrypt(key.KeyId, big);
    assertBytes((await decrypt(out.CiphertextBlob)).Plaintext, big, '4096-byte plaintext');
    await expectAwsError(encrypt(key.KeyId, new Uint8Array(4097)), 'ValidationException');
  });

  test('a non-symmetric EncryptionAlgorithm is InvalidKeyUsageException', async () => {
    await expectAwsError(
      send(new EncryptCommand({
        KeyId: key.KeyId, Plaintext: enc.encode('x'), EncryptionAlgorithm: 'RSAES_OAEP_SHA_256',
      })),
      'InvalidKeyUsageException',
    );
  });
});

// ------------------------------------------------------------------ data keys / random
describe('GenerateDataKey / GenerateDataKeyWithoutPlaintext / GenerateRandom', () => {
  let key;
  const CONTEXT = { bucket: 'assets', object: `e2e/${RUN}` };

  before(async () => {
    key = await createKey({ Description: 'data keys' });
  });

  test('GenerateDataKey AES_256: 32-byte Plaintext, CiphertextBlob decrypts to the same bytes', async () => {
    const dk = await send(new GenerateDataKeyCommand({
      KeyId: key.KeyId, KeySpec: 'AES_256', EncryptionContext: CONTEXT,
    }));
    assert.ok(dk.Plaintext instanceof Uint8Array);
    assert.equal(dk.Plaintext.length, 32);
    assert.ok(dk.CiphertextBlob instanceof Uint8Array);
    assert.equal(dk.KeyId, key.Arn);
    const plain = await decrypt(dk.CiphertextBlob, CONTEXT);
    assertBytes(plain.Plaintext, dk.Plaintext, 'decrypted data key');
    assert.equal(plain.KeyId, key.Arn);
    await expectAwsError(decrypt(dk.CiphertextBlob), 'InvalidCiphertextException');
  });

  test('GenerateDataKey AES_128 and NumberOfBytes', async () => {
    const a = await send(new GenerateDataKeyCommand({ KeyId: key.Arn, KeySpec: 'AES_128' }));
    assert.equal(a.Plaintext.length, 16);
    const b = await send(new GenerateDataKeyCommand({ KeyId: key.KeyId, NumberOfBytes: 64 }));
    assert.equal(b.Plaintext.length, 64);
    assertBytes((await decrypt(b.CiphertextBlob)).Plaintext, b.Plaintext, '64-byte data key');
    const c = await send(new GenerateDataKeyCommand({ KeyId: key.KeyId, KeySpec: 'AES_256' }));
    assert.notDeepEqual(Buffer.from(c.Plaintext), Buffer.from(
      (await send(new GenerateDataKeyCommand({ KeyId: key.KeyId, KeySpec: 'AES_256' }))).Plaintext,
    ), 'data keys are random');
  });

  test('GenerateDataKeyWithoutPlaintext returns only the encrypted key', async () => {
    const dk = await send(new GenerateDataKeyWithoutPlaintextCommand({
      KeyId: key.KeyId, KeySpec: 'AES_256', EncryptionContext: CONTEXT,
    }));
    assert.equal(dk.Plaintext, undefined);
    assert.equal(dk.KeyId, key.Arn);
    assert.equal((await decrypt(dk.CiphertextBlob, CONTEXT)).Plaintext.length, 32);
  });

  test('GenerateDataKey needs exactly one of KeySpec and NumberOfBytes', async () => {
    await expectAwsError(send(new GenerateDataKeyCommand({ KeyId: key.KeyId })), 'ValidationException');
    await expectAwsError(
      send(new GenerateDataKeyCommand({ KeyId: key.KeyId, KeySpec: 'AES_256', NumberOfBytes: 32 })),
      'ValidationException',
    );
    await expectAwsError(
      send(new GenerateDataKeyCommand({ KeyId: key.KeyId, NumberOfBytes: 1025 })),
      'ValidationException',
    );
  });

  test('GenerateRandom', async () => {
    const a = (await send(new GenerateRandomCommand({ NumberOfBytes: 32 }))).Plaintext;
    const b = (await send(new GenerateRandomCommand({ NumberOfBytes: 32 }))).Plaintext;
    assert.ok(a instanceof Uint8Array);
    assert.equal(a.length, 32);
    assert.notDeepEqual(Buffer.from(a), Buffer.from(b));
    assert.equal((await send(new GenerateRandomCommand({ NumberOfBytes: 1024 }))).Plaintext.length, 1024);
    await expectAwsError(send(new GenerateRandomCommand({ NumberOfBytes: 1025 })), 'ValidationException');
    await expectAwsError(send(new GenerateRandomCommand({ NumberOfBytes: 0 })), 'ValidationException');
  });
});

// ------------------------------------------------------------------ key states
describe('key states: DisableKey / EnableKey / ScheduleKeyDeletion / CancelKeyDeletion', () => {
  test('a disabled key refuses Encrypt, Decrypt and GenerateDataKey with DisabledException', async () => {
    const key = await createKey({ Description: 'disable me' });
    const { CiphertextBlob } = await encrypt(key.KeyId, enc.encode('before'));
    await send(new DisableKeyCommand({ KeyId: key.KeyId }));
    const m = await describeKey(key.KeyId);
    assert.equal(m.KeyState, 'Disabled');
    assert.equal(m.Enabled, false);
    await expectAwsError(encrypt(key.KeyId, enc.encode('x')), 'DisabledException');
    await expectAwsError(decrypt(CiphertextBlob), 'DisabledException');
    await expectAwsError(
      send(new GenerateDataKeyCommand({ KeyId: key.KeyId, KeySpec: 'AES_256' })),
      'DisabledException',
    );

    await send(new EnableKeyCommand({ KeyId: key.Arn }));
    const again = await describeKey(key.KeyId);
    assert.equal(again.KeyState, 'Enabled');
    assert.equal(again.Enabled, true);
    assert.equal(Buffer.from((await decrypt(CiphertextBlob)).Plaintext).toString(), 'before');
    await encrypt(key.KeyId, enc.encode('after'));
  });

  test('ScheduleKeyDeletion → PendingDeletion; CancelKeyDeletion → Disabled', async () => {
    const key = await createKey({ Description: 'delete me' });
    const { CiphertextBlob } = await encrypt(key.KeyId, enc.encode('doomed'));

    const scheduled = await send(new ScheduleKeyDeletionCommand({ KeyId: key.KeyId, PendingWindowInDays: 7 }));
    assert.equal(scheduled.KeyId, key.Arn);
    assert.equal(scheduled.KeyState, 'PendingDeletion');
    assert.equal(scheduled.PendingWindowInDays, 7);
    assertDateAround(scheduled.DeletionDate, 7 * DAY_MS, 'ScheduleKeyDeletion DeletionDate');

    const m = await describeKey(key.KeyId);
    assert.equal(m.KeyState, 'PendingDeletion');
    assert.equal(m.Enabled, false);
    assert.ok(m.DeletionDate instanceof Date, 'DescribeKey DeletionDate is a Date');
    assert.equal(m.DeletionDate.getTime(), scheduled.DeletionDate.getTime());
    assert.equal(m.PendingDeletionWindowInDays, 7);

    await expectAwsError(encrypt(key.KeyId, enc.encode('x')), 'KMSInvalidStateException');
    await expectAwsError(decrypt(CiphertextBlob), 'KMSInvalidStateException');
    await expectAwsError(send(new EnableKeyCommand({ KeyId: key.KeyId })), 'KMSInvalidStateException');
    await expectAwsError(
      send(new ScheduleKeyDeletionCommand({ KeyId: key.KeyId })),
      'KMSInvalidStateException',
    );

    const cancelled = await send(new CancelKeyDeletionCommand({ KeyId: key.Arn }));
    assert.equal(cancelled.KeyId, key.Arn);
    const after = await describeKey(key.KeyId);
    assert.equal(after.KeyState, 'Disabled');
    assert.equal(after.Enabled, false);
    assert.equal(after.DeletionDate, undefined);
    assert.equal(after.PendingDeletionWindowInDays, undefined);
    await expectAwsError(encrypt(key.KeyId, enc.encode('x')), 'DisabledException');

    await send(new EnableKeyCommand({ KeyId: key.KeyId }));
    assert.equal((await describeKey(key.KeyId)).KeyState, 'Enabled');
    assert.equal(Buffer.from((await decrypt(CiphertextBlob)).Plaintext).toString(), 'doomed');
  });

  test('ScheduleKeyDeletion defaults to 30 days and checks the 7-30 window', async () => {
    const key = await createKey();
    await expectAwsError(
      send(new ScheduleKeyDeletionCommand({ KeyId: key.KeyId, PendingWindowInDays: 6 })),
      'ValidationException',
    );
    await expectAwsError(
      send(new ScheduleKeyDeletionCommand({ KeyId: key.KeyId, PendingWindowInDays: 31 })),
      'ValidationException',
    );
    const s = await send(new ScheduleKeyDeletionCommand({ KeyId: key.KeyId }));
    assert.equal(s.PendingWindowInDays, 30);
    assertDateAround(s.DeletionDate, 30 * DAY_MS, 'default DeletionDate');
    await send(new CancelKeyDeletionCommand({ KeyId: key.KeyId }));
  });

  test('CancelKeyDeletion on a key not pending deletion is KMSInvalidStateException', async () => {
    const key = await createKey();
    await expectAwsError(send(new CancelKeyDeletionCommand({ KeyId: key.KeyId })), 'KMSInvalidStateException');
  });

  test('state changes on a missing key are NotFoundException', async () => {
    const missing = randomUUID();
    await expectAwsError(send(new DisableKeyCommand({ KeyId: missing })), 'NotFoundException');
    await expectAwsError(send(new EnableKeyCommand({ KeyId: missing })), 'NotFoundException');
    await expectAwsError(send(new ScheduleKeyDeletionCommand({ KeyId: missing })), 'NotFoundException');
  });
});

// ------------------------------------------------------------------ aliases
describe('CreateAlias / ListAliases / UpdateAlias / DeleteAlias', () => {
  let a;
  let b;
  const ALIAS = alias('main');

  before(async () => {
    a = await createKey({ Description: 'alias a' });
    b = await createKey({ Description: 'alias b' });
  });

  test('CreateAlias, then the alias names the key everywhere', async () => {
    await send(new CreateAliasCommand({ AliasName: ALIAS, TargetKeyId: a.Arn }));
    assert.equal((await describeKey(ALIAS)).KeyId, a.KeyId);
    const { CiphertextBlob, KeyId } = await encrypt(ALIAS, enc.encode('via alias'));
    assert.equal(KeyId, a.Arn);
    assert.equal((await decrypt(CiphertextBlob, undefined, ALIAS)).KeyId, a.Arn);
  });

  test('a second CreateAlias with the same name is AlreadyExistsException', async () => {
    await expectAwsError(
      send(new CreateAliasCommand({ AliasName: ALIAS, TargetKeyId: b.KeyId })),
      'AlreadyExistsException',
    );
    assert.equal((await describeKey(ALIAS)).KeyId, a.KeyId, 'the alias still names key a');
  });

  test('ListAliases, all and by KeyId', async () => {
    const all = [];
    for await (const page of paginateListAliases({ client: kms, pageSize: 2 }, {})) all.push(...page.Aliases);
    const mine = all.find((x) => x.AliasName === ALIAS);
    assert.ok(mine, `${ALIAS} is listed`);
    assert.equal(mine.AliasArn, ALIAS_ARN_PREFIX + ALIAS);
    assert.equal(mine.TargetKeyId, a.KeyId);
    assertRecentDate(mine.CreationDate, 'alias CreationDate');
    assertRecentDate(mine.LastUpdatedDate, 'alias LastUpdatedDate');

    await send(new CreateAliasCommand({ AliasName: `${ALIAS}-second`, TargetKeyId: a.KeyId }));
    const byKey = await send(new ListAliasesCommand({ KeyId: a.KeyId }));
    assert.deepEqual(byKey.Aliases.map((x) => x.AliasName).sort(), [ALIAS, `${ALIAS}-second`]);
    assert.deepEqual((await send(new ListAliasesCommand({ KeyId: b.Arn }))).Aliases, []);
  });

  test('UpdateAlias points the alias at another key', async () => {
    await send(new UpdateAliasCommand({ AliasName: ALIAS, TargetKeyId: b.KeyId }));
    assert.equal((await describeKey(ALIAS)).KeyId, b.KeyId);
    const byKey = await send(new ListAliasesCommand({ KeyId: b.KeyId }));
    assert.deepEqual(byKey.Aliases.map((x) => x.AliasName), [ALIAS]);
    await expectAwsError(
      send(new UpdateAliasCommand({ AliasName: alias('never'), TargetKeyId: b.KeyId })),
      'NotFoundException',
    );
  });

  test('DeleteAlias; the key stays', async () => {
    await send(new DeleteAliasCommand({ AliasName: `${ALIAS}-second` }));
    await expectAwsError(describeKey(`${ALIAS}-second`), 'NotFoundException');
    assert.equal((await describeKey(a.KeyId)).KeyState, 'Enabled');
    await expectAwsError(send(new DeleteAliasCommand({ AliasName: `${ALIAS}-second` })), 'NotFoundException');
  });

  test('alias errors', async () => {
    await expectAwsError(
      send(new CreateAliasCommand({ AliasName: 'alias/aws/e2e', TargetKeyId: a.KeyId })),
      'NotAuthorizedException',
    );
    await expectAwsError(
      send(new CreateAliasCommand({ AliasName: `no-prefix-${RUN}`, TargetKeyId: a.KeyId })),
      'ValidationException',
    );
    await expectAwsError(
      send(new CreateAliasCommand({ AliasName: `alias/has space ${RUN}`, TargetKeyId: a.KeyId })),
      'ValidationException',
    );
    await expectAwsError(
      send(new CreateAliasCommand({ AliasName: alias('orphan'), TargetKeyId: randomUUID() })),
      'NotFoundException',
    );
  });
});

// ------------------------------------------------------------------ rotation
describe('key rotation', () => {
  test('EnableKeyRotation / GetKeyRotationStatus / DisableKeyRotation', async () => {
    const key = await createKey({ Description: 'rotation' });
    const off = await send(new GetKeyRotationStatusCommand({ KeyId: key.KeyId }));
    assert.equal(off.KeyRotationEnabled, false);

    await send(new EnableKeyRotationCommand({ KeyId: key.KeyId }));
    const on = await send(new GetKeyRotationStatusCommand({ KeyId: key.Arn }));
    assert.equal(on.KeyRotationEnabled, true);
    assert.equal(on.KeyId, key.Arn);
    assert.equal(on.RotationPeriodInDays, 365);
    assertDateAround(on.NextRotationDate, 365 * DAY_MS, 'NextRotationDate');

    await send(new EnableKeyRotationCommand({ KeyId: key.KeyId, RotationPeriodInDays: 90 }));
    const ninety = await send(new GetKeyRotationStatusCommand({ KeyId: key.KeyId }));
    assert.equal(ninety.RotationPeriodInDays, 90);
    assertDateAround(ninety.NextRotationDate, 90 * DAY_MS, 'NextRotationDate after 90 days');

    await expectAwsError(
      send(new EnableKeyRotationCommand({ KeyId: key.KeyId, RotationPeriodInDays: 89 })),
      'ValidationException',
    );
    await expectAwsError(
      send(new EnableKeyRotationCommand({ KeyId: key.KeyId, RotationPeriodInDays: 2561 })),
      'ValidationException',
    );

    await send(new DisableKeyRotationCommand({ KeyId: key.KeyId }));
    const again = await send(new GetKeyRotationStatusCommand({ KeyId: key.KeyId }));
    assert.equal(again.KeyRotationEnabled, false);
    assert.equal(again.NextRotationDate, undefined);
  });

  test('rotation cannot be enabled on a disabled key (DisabledException)', async () => {
    const key = await createKey();
    await send(new DisableKeyCommand({ KeyId: key.KeyId }));
    await expectAwsError(send(new EnableKeyRotationCommand({ KeyId: key.KeyId })), 'DisabledException');
    await expectAwsError(send(new RotateKeyOnDemandCommand({ KeyId: key.KeyId })), 'DisabledException');
  });

  test('RotateKeyOnDemand / ListKeyRotations; old and new ciphertexts decrypt', async () => {
    const key = await createKey({ Description: 'on demand' });
    assert.deepEqual((await send(new ListKeyRotationsCommand({ KeyId: key.KeyId }))).Rotations, []);
    const before = await encrypt(key.KeyId, enc.encode('before rotation'), { v: '1' });

    const r1 = await send(new RotateKeyOnDemandCommand({ KeyId: key.KeyId }));
    assert.equal(r1.KeyId, key.KeyId);
    const mid = await encrypt(key.KeyId, enc.encode('between rotations'), { v: '2' });
    await send(new RotateKeyOnDemandCommand({ KeyId: key.Arn }));
    const afterBoth = await encrypt(key.KeyId, enc.encode('after rotations'), { v: '3' });

    const list = await send(new ListKeyRotationsCommand({ KeyId: key.KeyId }));
    assert.equal(list.Rotations.length, 2);
    for (const r of list.Rotations) {
      assert.equal(r.KeyId, key.KeyId);
      assert.equal(r.RotationType, 'ON_DEMAND');
      assertRecentDate(r.RotationDate, 'RotationDate');
    }
    assert.equal(list.Truncated, false);
    const paged = await send(new ListKeyRotationsCommand({ KeyId: key.KeyId, Limit: 1 }));
    assert.equal(paged.Rotations.length, 1);
    assert.equal(paged.Truncated, true);
    const rest = await send(new ListKeyRotationsCommand({ KeyId: key.KeyId, Limit: 1, Marker: paged.NextMarker }));
    assert.equal(rest.Rotations.length, 1);
    assert.equal(rest.Truncated, false);

    const texts = [
      [before, { v: '1' }, 'before rotation'],
      [mid, { v: '2' }, 'between rotations'],
      [afterBoth, { v: '3' }, 'after rotations'],
    ];
    for (const [out, ctx, text] of texts) {
      assert.equal(Buffer.from((await decrypt(out.CiphertextBlob, ctx)).Plaintext).toString(), text);
    }
    assert.notDeepEqual(Buffer.from(before.CiphertextBlob.subarray(0, 48)),
      Buffer.from(afterBoth.CiphertextBlob.subarray(0, 48)));
    // Rotation keeps the key's identity.
    assert.equal((await describeKey(key.KeyId)).KeyState, 'Enabled');
    await expectAwsError(
      send(new ListKeyRotationsCommand({ KeyId: randomUUID() })),
      'NotFoundException',
    );
  });
});

// ------------------------------------------------------------------ policies
describe('key policies', () => {
  test('the default policy gives the account root kms:*', async () => {
    const key = await createKey();
    const got = await send(new GetKeyPolicyCommand({ KeyId: key.KeyId, PolicyName: 'default' }));
    const policy = JSON.parse(got.Policy);
    assert.ok(Array.isArray(policy.Statement), `Statement array: ${got.Policy}`);
    const root = policy.Statement.find((s) => s.Principal?.AWS === `arn:aws:iam::${ACCOUNT_ID}:root`);
    assert.ok(root, `a statement for the account root: ${got.Policy}`);
    assert.equal(root.Effect, 'Allow');
    assert.equal(root.Action, 'kms:*');
    const noName = await send(new GetKeyPolicyCommand({ KeyId: key.Arn }));
    assert.equal(noName.Policy, got.Policy, 'PolicyName defaults to "default"');
    assert.deepEqual((await send(new ListKeyPoliciesCommand({ KeyId: key.KeyId }))).PolicyNames, ['default']);
  });

  test('PutKeyPolicy replaces the policy; CreateKey takes one', async () => {
    const key = await createKey();
    const doc = JSON.stringify({
      Version: '2012-10-17',
      Id: `e2e-${RUN}`,
      Statement: [{
        Sid: 'Root', Effect: 'Allow',
        Principal: { AWS: `arn:aws:iam::${ACCOUNT_ID}:root` }, Action: 'kms:*', Resource: '*',
      }],
    });
    await send(new PutKeyPolicyCommand({ KeyId: key.KeyId, PolicyName: 'default', Policy: doc }));
    assert.equal((await send(new GetKeyPolicyCommand({ KeyId: key.KeyId, PolicyName: 'default' }))).Policy, doc);

    const withPolicy = await createKey({ Policy: doc });
    assert.equal((await send(new GetKeyPolicyCommand({ KeyId: withPolicy.KeyId }))).Policy, doc);
  });

  test('a malformed policy is MalformedPolicyDocumentException', async () => {
    const key = await createKey();
    await expectAwsError(
      send(new PutKeyPolicyCommand({ KeyId: key.KeyId, PolicyName: 'default', Policy: '{not json' })),
      'MalformedPolicyDocumentException',
    );
    await expectAwsError(createKey({ Policy: '[]' }), 'MalformedPolicyDocumentException');
    await expectAwsError(
      send(new GetKeyPolicyCommand({ KeyId: randomUUID(), PolicyName: 'default' })),
      'NotFoundException',
    );
  });
});

// ------------------------------------------------------------------ tags
describe('TagResource / UntagResource / ListResourceTags', () => {
  test('tags are added, overwritten by key and removed', async () => {
    const key = await createKey({ Tags: [{ TagKey: 'env', TagValue: 'dev' }] });
    await send(new TagResourceCommand({
      KeyId: key.KeyId,
      Tags: [{ TagKey: 'env', TagValue: 'prod' }, { TagKey: 'team', TagValue: 'blue' }, { TagKey: 'empty', TagValue: '' }],
    }));
    assert.deepEqual(await tagsOf(key.KeyId), [
      { TagKey: 'empty', TagValue: '' },
      { TagKey: 'env', TagValue: 'prod' },
      { TagKey: 'team', TagValue: 'blue' },
    ]);
    await send(new UntagResourceCommand({ KeyId: key.Arn, TagKeys: ['team', 'empty', 'absent'] }));
    assert.deepEqual(await tagsOf(key.KeyId), [{ TagKey: 'env', TagValue: 'prod' }]);
  });

  test('tag errors', async () => {
    const key = await createKey();
    await expectAwsError(
      send(new TagResourceCommand({ KeyId: key.KeyId, Tags: [{ TagKey: 'aws:reserved', TagValue: 'x' }] })),
      'TagException',
    );
    await expectAwsError(
      send(new TagResourceCommand({ KeyId: randomUUID(), Tags: [{ TagKey: 'a', TagValue: 'b' }] })),
      'NotFoundException',
    );
    await expectAwsError(send(new ListResourceTagsCommand({ KeyId: randomUUID() })), 'NotFoundException');
  });
});

// ------------------------------------------------------------------ AWS managed keys
describe('AWS managed keys', () => {
  test('alias/aws/secretsmanager resolves to an AWS managed key with rotation on', async () => {
    const m = await describeKey('alias/aws/secretsmanager');
    assert.equal(m.KeyManager, 'AWS');
    assert.equal(m.KeyState, 'Enabled');
    const rot = await send(new GetKeyRotationStatusCommand({ KeyId: m.KeyId }));
    assert.equal(rot.KeyRotationEnabled, true);
    const out = await encrypt('alias/aws/secretsmanager', enc.encode('managed'));
    assert.equal(out.KeyId, m.Arn);
    assert.equal(Buffer.from((await decrypt(out.CiphertextBlob)).Plaintext).toString(), 'managed');
  });
});

// ------------------------------------------------------------------ secrets manager
describe('Secrets Manager under a customer-managed key', () => {
  test('CreateSecret with KmsKeyId alias; the key state gates GetSecretValue', async () => {
    const key = await createKey({ Description: 'secrets' });
    const ALIAS = alias('secrets');
    await send(new CreateAliasCommand({ AliasName: ALIAS, TargetKeyId: key.KeyId }));
    const name = `e2e/kms/${RUN}`;
    await sm.send(new CreateSecretCommand({ Name: name, SecretString: 's3cr3t', KmsKeyId: ALIAS }));
    assert.equal((await sm.send(new DescribeSecretCommand({ SecretId: name }))).KmsKeyId, ALIAS);
    assert.equal((await sm.send(new GetSecretValueCommand({ SecretId: name }))).SecretString, 's3cr3t');

    await send(new DisableKeyCommand({ KeyId: key.KeyId }));
    await expectAwsError(sm.send(new GetSecretValueCommand({ SecretId: name })), 'DecryptionFailure');
    await send(new EnableKeyCommand({ KeyId: key.KeyId }));
    assert.equal((await sm.send(new GetSecretValueCommand({ SecretId: name }))).SecretString, 's3cr3t');
  });
});

// ------------------------------------------------------------------ wire format
describe('on the wire', () => {
  test('JSON 1.1: epoch-number timestamps, base64 blobs, __type on errors', async () => {
    const client = kmsClient(server);
    const raw = captureRawResponses(client);
    try {
      const { KeyMetadata } = await client.send(new CreateKeyCommand({ Description: 'wire' }));
      const created = raw.at(-1);
      assert.equal(created.status, 200);
      assert.match(created.headers['content-type'], /^application\/x-amz-json-1\.1/);
      assert.ok(created.headers['x-amzn-requestid'], 'x-amzn-RequestId header missing');
      const body = JSON.parse(created.text);
      assert.equal(typeof body.KeyMetadata.CreationDate, 'number', created.text);

      const plaintext = new Uint8Array([0, 1, 2, 0xfe, 0xff]);
      await client.send(new EncryptCommand({ KeyId: KeyMetadata.KeyId, Plaintext: plaintext }));
      const blob = JSON.parse(raw.at(-1).text).CiphertextBlob;
      assert.equal(typeof blob, 'string');
      assert.match(blob, /^[A-Za-z0-9+/]+={0,2}$/);
      await client.send(new DecryptCommand({ CiphertextBlob: Buffer.from(blob, 'base64') }));
      assert.equal(JSON.parse(raw.at(-1).text).Plaintext, Buffer.from(plaintext).toString('base64'));

      await client.send(new ScheduleKeyDeletionCommand({ KeyId: KeyMetadata.KeyId, PendingWindowInDays: 7 }));
      assert.equal(typeof JSON.parse(raw.at(-1).text).DeletionDate, 'number');

      await expectAwsError(
        client.send(new DescribeKeyCommand({ KeyId: randomUUID() })),
        'NotFoundException',
      );
      const err = raw.at(-1);
      assert.equal(err.status, 400);
      const type = String(JSON.parse(err.text).__type ?? '');
      assert.equal(type.split('#').pop().split(':')[0], 'NotFoundException');
    } finally {
      client.destroy();
    }
  });
});
