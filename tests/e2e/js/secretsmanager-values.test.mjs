// Secret values and versions through the AWS SDK for JavaScript v3: CreateSecret,
// GetSecretValue (string and binary), PutSecretValue stage movement,
// UpdateSecretVersionStage, DescribeSecret, ListSecretVersionIds, and the wire format
// that the SDK depends on (epoch-number timestamps, base64 blobs, __type errors).

import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';

import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretVersionIdsCommand,
  PutSecretValueCommand,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';

import {
  ACCOUNT_ID,
  REGION,
  assertRecentDate,
  captureRawResponses,
  expectAwsError,
  secretArnPattern,
  sleep,
  smClient,
  sortedStages,
  startCoffer,
  uniqueName,
} from './helpers/coffer.mjs';

let server;
let sm;

/** Paths of members whose value is JSON null. */
function nullMembers(value, at = '$') {
  if (value === null) return [at];
  if (typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([k, v]) => nullMembers(v, `${at}.${k}`));
}

before(async () => {
  server = await startCoffer();
  sm = smClient(server);
});

after(async () => {
  sm?.destroy();
  const info = await server?.stop();
  if (info) assert.equal(info.code, 0, `coffer exit on SIGTERM: ${JSON.stringify(info)}`);
});

describe('CreateSecret and GetSecretValue', () => {
  test('a SecretString round-trips, with the version id taken from ClientRequestToken', async () => {
    const name = uniqueName('values/string');
    const token = randomUUID();
    const value = JSON.stringify({
      username: 'app_user',
      password: 'p@ss "quoted" \\ back\\slash ünïcødé ✓ 🔑',
    });
    const created = await sm.send(
      new CreateSecretCommand({
        Name: name,
        SecretString: value,
        ClientRequestToken: token,
        Description: 'e2e string secret',
      }),
    );
    assert.equal(created.Name, name);
    assert.match(created.ARN, secretArnPattern(name));
    assert.equal(created.VersionId, token);

    const got = await sm.send(new GetSecretValueCommand({ SecretId: name }));
    assert.equal(got.ARN, created.ARN);
    assert.equal(got.Name, name);
    assert.equal(got.VersionId, token);
    assert.equal(got.SecretString, value);
    assert.equal(got.SecretBinary, undefined);
    assert.deepEqual(got.VersionStages, ['AWSCURRENT']);
    assertRecentDate(got.CreatedDate, 'GetSecretValue.CreatedDate');
    assert.equal(typeof got.$metadata.requestId, 'string');
    assert.ok(got.$metadata.requestId.length > 0, 'x-amzn-RequestId header missing');
  });

  test('a SecretBinary round-trips byte for byte as a Uint8Array', async () => {
    const name = uniqueName('values/binary');
    // Every byte value that tends to break naive encoders, then random bytes.
    const bytes = new Uint8Array([
      0x00, 0x01, 0x0a, 0x0d, 0x22, 0x5c, 0x7f, 0x80, 0xc3, 0x28, 0xfe, 0xff,
      ...randomBytes(500),
    ]);
    const created = await sm.send(new CreateSecretCommand({ Name: name, SecretBinary: bytes }));
    assert.match(created.ARN, secretArnPattern(name));

    const got = await sm.send(new GetSecretValueCommand({ SecretId: created.ARN }));
    assert.ok(got.SecretBinary instanceof Uint8Array, 'SecretBinary should decode to a Uint8Array');
    assert.equal(got.SecretString, undefined);
    assert.equal(got.SecretBinary.length, bytes.length);
    assert.ok(Buffer.from(got.SecretBinary).equals(Buffer.from(bytes)), 'binary value changed');
    assert.equal(got.VersionId, created.VersionId);
    assert.deepEqual(got.VersionStages, ['AWSCURRENT']);
  });

  test('SecretId accepts the name, the full ARN and the partial ARN (ARN without -XXXXXX)', async () => {
    const name = uniqueName('values/lookup');
    const created = await sm.send(new CreateSecretCommand({ Name: name, SecretString: 'lookup' }));
    const partialArn = created.ARN.slice(0, -7);
    assert.equal(partialArn, `arn:aws:secretsmanager:${REGION}:${ACCOUNT_ID}:secret:${name}`);
    for (const id of [name, created.ARN, partialArn]) {
      const got = await sm.send(new GetSecretValueCommand({ SecretId: id }));
      assert.equal(got.SecretString, 'lookup', `lookup by ${id}`);
      assert.equal(got.ARN, created.ARN);
    }
    // Name + random suffix without the ARN prefix is not a name.
    const suffixed = `${name}${created.ARN.slice(-7)}`;
    await expectAwsError(
      sm.send(new GetSecretValueCommand({ SecretId: suffixed })),
      'ResourceNotFoundException',
    );
  });

  test('a missing secret is ResourceNotFoundException with HTTP 400', async () => {
    await expectAwsError(
      sm.send(new GetSecretValueCommand({ SecretId: uniqueName('values/missing') })),
      'ResourceNotFoundException',
      { httpStatus: 400, message: "Secrets Manager can't find the specified secret." },
    );
  });

  test('creating an existing name is ResourceExistsException', async () => {
    const name = uniqueName('values/dup');
    await sm.send(new CreateSecretCommand({ Name: name, SecretString: 'one' }));
    await expectAwsError(
      sm.send(new CreateSecretCommand({ Name: name, SecretString: 'two' })),
      'ResourceExistsException',
      { httpStatus: 400, message: /already exists/ },
    );
    const got = await sm.send(new GetSecretValueCommand({ SecretId: name }));
    assert.equal(got.SecretString, 'one', 'the failed create must not change the value');
  });

  test('SecretString and SecretBinary together is InvalidParameterException', async () => {
    const name = uniqueName('values/both');
    await expectAwsError(
      sm.send(
        new CreateSecretCommand({
          Name: name,
          SecretString: 'text',
          SecretBinary: new Uint8Array([1, 2, 3]),
        }),
      ),
      'InvalidParameterException',
      { httpStatus: 400 },
    );
    await expectAwsError(
      sm.send(new DescribeSecretCommand({ SecretId: name })),
      'ResourceNotFoundException',
    );
  });

  test('a secret created without a value has no versions until the first PutSecretValue', async () => {
    const name = uniqueName('values/empty');
    const created = await sm.send(new CreateSecretCommand({ Name: name }));
    assert.equal(created.VersionId, undefined);
    const d = await sm.send(new DescribeSecretCommand({ SecretId: name }));
    assert.deepEqual(d.VersionIdsToStages ?? {}, {});
    await expectAwsError(
      sm.send(new GetSecretValueCommand({ SecretId: name })),
      'ResourceNotFoundException',
    );
    const put = await sm.send(new PutSecretValueCommand({ SecretId: name, SecretString: 'first' }));
    assert.deepEqual(put.VersionStages, ['AWSCURRENT']);
    const got = await sm.send(new GetSecretValueCommand({ SecretId: name }));
    assert.equal(got.SecretString, 'first');
    assert.equal(got.VersionId, put.VersionId);
  });
});

describe('versions and staging labels', () => {
  test('PutSecretValue moves AWSCURRENT and AWSPREVIOUS; explicit stages do not move AWSCURRENT', async () => {
    const name = uniqueName('values/stages');
    const [t1, t2, t3, t4] = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
    const created = await sm.send(
      new CreateSecretCommand({ Name: name, SecretString: 'v1', ClientRequestToken: t1 }),
    );

    const p2 = await sm.send(
      new PutSecretValueCommand({ SecretId: name, SecretString: 'v2', ClientRequestToken: t2 }),
    );
    assert.equal(p2.ARN, created.ARN);
    assert.equal(p2.Name, name);
    assert.equal(p2.VersionId, t2);
    assert.deepEqual(p2.VersionStages, ['AWSCURRENT']);
    let d = await sm.send(new DescribeSecretCommand({ SecretId: name }));
    assert.deepEqual(sortedStages(d.VersionIdsToStages), {
      [t1]: ['AWSPREVIOUS'],
      [t2]: ['AWSCURRENT'],
    });

    const p3 = await sm.send(
      new PutSecretValueCommand({
        SecretId: name,
        SecretString: 'v3',
        ClientRequestToken: t3,
        VersionStages: ['AWSPENDING'],
      }),
    );
    assert.equal(p3.VersionId, t3);
    assert.deepEqual(p3.VersionStages, ['AWSPENDING']);
    d = await sm.send(new DescribeSecretCommand({ SecretId: name }));
    assert.deepEqual(sortedStages(d.VersionIdsToStages), {
      [t1]: ['AWSPREVIOUS'],
      [t2]: ['AWSCURRENT'],
      [t3]: ['AWSPENDING'],
    });
    const cur = await sm.send(new GetSecretValueCommand({ SecretId: name }));
    assert.equal(cur.SecretString, 'v2');
    const pending = await sm.send(
      new GetSecretValueCommand({ SecretId: name, VersionStage: 'AWSPENDING' }),
    );
    assert.equal(pending.SecretString, 'v3');
    assert.equal(pending.VersionId, t3);
    assert.deepEqual(pending.VersionStages, ['AWSPENDING']);
    const prev = await sm.send(
      new GetSecretValueCommand({ SecretId: name, VersionStage: 'AWSPREVIOUS' }),
    );
    assert.equal(prev.SecretString, 'v1');
    const byId = await sm.send(new GetSecretValueCommand({ SecretId: name, VersionId: t1 }));
    assert.equal(byId.SecretString, 'v1');

    const p4 = await sm.send(
      new PutSecretValueCommand({ SecretId: name, SecretString: 'v4', ClientRequestToken: t4 }),
    );
    assert.deepEqual(p4.VersionStages, ['AWSCURRENT']);
    d = await sm.send(new DescribeSecretCommand({ SecretId: name }));
    // t1 lost its last label: it is deprecated and no longer listed.
    assert.deepEqual(sortedStages(d.VersionIdsToStages), {
      [t2]: ['AWSPREVIOUS'],
      [t3]: ['AWSPENDING'],
      [t4]: ['AWSCURRENT'],
    });
    // A deprecated version is still readable by id.
    const old = await sm.send(new GetSecretValueCommand({ SecretId: name, VersionId: t1 }));
    assert.equal(old.SecretString, 'v1');
    assert.deepEqual(old.VersionStages ?? [], []);
  });

  test('PutSecretValue with a used ClientRequestToken is idempotent for the same value only', async () => {
    const name = uniqueName('values/idempotent');
    const t1 = randomUUID();
    const t2 = randomUUID();
    await sm.send(new CreateSecretCommand({ Name: name, SecretString: 'a', ClientRequestToken: t1 }));
    const first = await sm.send(
      new PutSecretValueCommand({ SecretId: name, SecretString: 'b', ClientRequestToken: t2 }),
    );
    const again = await sm.send(
      new PutSecretValueCommand({ SecretId: name, SecretString: 'b', ClientRequestToken: t2 }),
    );
    assert.equal(again.VersionId, first.VersionId);
    let d = await sm.send(new DescribeSecretCommand({ SecretId: name }));
    assert.deepEqual(sortedStages(d.VersionIdsToStages), {
      [t1]: ['AWSPREVIOUS'],
      [t2]: ['AWSCURRENT'],
    });
    await expectAwsError(
      sm.send(
        new PutSecretValueCommand({ SecretId: name, SecretString: 'c', ClientRequestToken: t2 }),
      ),
      'ResourceExistsException',
    );
    const got = await sm.send(new GetSecretValueCommand({ SecretId: name }));
    assert.equal(got.SecretString, 'b');
    d = await sm.send(new DescribeSecretCommand({ SecretId: name }));
    assert.equal(Object.keys(d.VersionIdsToStages).length, 2);
  });

  test('UpdateSecretVersionStage moves, guards and removes labels', async () => {
    const name = uniqueName('values/uvs');
    const [t1, t2, t3] = [randomUUID(), randomUUID(), randomUUID()];
    await sm.send(new CreateSecretCommand({ Name: name, SecretString: 'v1', ClientRequestToken: t1 }));
    await sm.send(
      new PutSecretValueCommand({ SecretId: name, SecretString: 'v2', ClientRequestToken: t2 }),
    );
    await sm.send(
      new PutSecretValueCommand({
        SecretId: name,
        SecretString: 'v3',
        ClientRequestToken: t3,
        VersionStages: ['AWSPENDING'],
      }),
    );

    // AWSCURRENT is on t2, so moving it without naming t2 in RemoveFromVersionId fails.
    await expectAwsError(
      sm.send(
        new UpdateSecretVersionStageCommand({
          SecretId: name,
          VersionStage: 'AWSCURRENT',
          MoveToVersionId: t3,
        }),
      ),
      'InvalidParameterException',
      { httpStatus: 400 },
    );
    let d = await sm.send(new DescribeSecretCommand({ SecretId: name }));
    assert.deepEqual(sortedStages(d.VersionIdsToStages), {
      [t1]: ['AWSPREVIOUS'],
      [t2]: ['AWSCURRENT'],
      [t3]: ['AWSPENDING'],
    });

    // Promote t3 (the rotation "finishSecret" step): AWSPREVIOUS follows to t2.
    const moved = await sm.send(
      new UpdateSecretVersionStageCommand({
        SecretId: name,
        VersionStage: 'AWSCURRENT',
        MoveToVersionId: t3,
        RemoveFromVersionId: t2,
      }),
    );
    assert.equal(moved.Name, name);
    assert.match(moved.ARN, new RegExp(`^arn:aws:secretsmanager:${REGION}:`));
    d = await sm.send(new DescribeSecretCommand({ SecretId: name }));
    assert.deepEqual(sortedStages(d.VersionIdsToStages), {
      [t2]: ['AWSPREVIOUS'],
      [t3]: ['AWSCURRENT', 'AWSPENDING'],
    });
    const cur = await sm.send(new GetSecretValueCommand({ SecretId: name }));
    assert.equal(cur.SecretString, 'v3');
    assert.deepEqual([...cur.VersionStages].sort(), ['AWSCURRENT', 'AWSPENDING']);

    // Remove AWSPENDING (no MoveToVersionId).
    await sm.send(
      new UpdateSecretVersionStageCommand({
        SecretId: name,
        VersionStage: 'AWSPENDING',
        RemoveFromVersionId: t3,
      }),
    );
    // A custom label revives the deprecated t1; other labels stay where they are.
    await sm.send(
      new UpdateSecretVersionStageCommand({
        SecretId: name,
        VersionStage: 'BLUE',
        MoveToVersionId: t1,
      }),
    );
    d = await sm.send(new DescribeSecretCommand({ SecretId: name }));
    assert.deepEqual(sortedStages(d.VersionIdsToStages), {
      [t1]: ['BLUE'],
      [t2]: ['AWSPREVIOUS'],
      [t3]: ['AWSCURRENT'],
    });
    const blue = await sm.send(new GetSecretValueCommand({ SecretId: name, VersionStage: 'BLUE' }));
    assert.equal(blue.SecretString, 'v1');

    await expectAwsError(
      sm.send(
        new UpdateSecretVersionStageCommand({
          SecretId: uniqueName('values/uvs-missing'),
          VersionStage: 'AWSCURRENT',
          MoveToVersionId: t1,
        }),
      ),
      'ResourceNotFoundException',
    );
  });

  test('ListSecretVersionIds hides deprecated versions unless IncludeDeprecated', async () => {
    const name = uniqueName('values/versions');
    const [t1, t2, t3] = [randomUUID(), randomUUID(), randomUUID()];
    const created = await sm.send(
      new CreateSecretCommand({ Name: name, SecretString: 'v1', ClientRequestToken: t1 }),
    );
    for (const [t, v] of [
      [t2, 'v2'],
      [t3, 'v3'],
    ]) {
      await sm.send(new PutSecretValueCommand({ SecretId: name, SecretString: v, ClientRequestToken: t }));
    }

    const listed = await sm.send(new ListSecretVersionIdsCommand({ SecretId: name }));
    assert.equal(listed.ARN, created.ARN);
    assert.equal(listed.Name, name);
    assert.equal(listed.NextToken, undefined);
    const byId = Object.fromEntries(listed.Versions.map((v) => [v.VersionId, v]));
    assert.deepEqual(Object.keys(byId).sort(), [t2, t3].sort());
    assert.deepEqual(byId[t3].VersionStages, ['AWSCURRENT']);
    assert.deepEqual(byId[t2].VersionStages, ['AWSPREVIOUS']);
    for (const v of listed.Versions) assertRecentDate(v.CreatedDate, `Versions[${v.VersionId}].CreatedDate`);

    const all = await sm.send(
      new ListSecretVersionIdsCommand({ SecretId: name, IncludeDeprecated: true }),
    );
    const allById = Object.fromEntries(all.Versions.map((v) => [v.VersionId, v]));
    assert.deepEqual(Object.keys(allById).sort(), [t1, t2, t3].sort());
    assert.deepEqual(allById[t1].VersionStages ?? [], []);

    await expectAwsError(
      sm.send(new ListSecretVersionIdsCommand({ SecretId: uniqueName('values/versions-missing') })),
      'ResourceNotFoundException',
    );
  });
});

describe('DescribeSecret', () => {
  test('returns dates as Dates, VersionIdsToStages and only the fields that have a value', async () => {
    const name = uniqueName('values/describe');
    const t1 = randomUUID();
    const created = await sm.send(
      new CreateSecretCommand({
        Name: name,
        Description: 'describe me',
        SecretString: 'v1',
        ClientRequestToken: t1,
        Tags: [{ Key: 'team', Value: 'platform' }],
      }),
    );
    const d1 = await sm.send(new DescribeSecretCommand({ SecretId: name }));
    assert.equal(d1.ARN, created.ARN);
    assert.equal(d1.Name, name);
    assert.equal(d1.Description, 'describe me');
    assertRecentDate(d1.CreatedDate, 'CreatedDate');
    assertRecentDate(d1.LastChangedDate, 'LastChangedDate');
    assert.ok(d1.LastChangedDate.getTime() >= d1.CreatedDate.getTime() - 1000);
    assert.deepEqual(d1.VersionIdsToStages, { [t1]: ['AWSCURRENT'] });
    assert.deepEqual(d1.Tags, [{ Key: 'team', Value: 'platform' }]);
    // Encrypted under the default aws/secretsmanager key: KmsKeyId is omitted.
    assert.equal(d1.KmsKeyId, undefined);
    assert.equal(d1.DeletedDate, undefined);

    await sleep(1100);
    const t2 = randomUUID();
    await sm.send(new PutSecretValueCommand({ SecretId: name, SecretString: 'v2', ClientRequestToken: t2 }));
    const d2 = await sm.send(new DescribeSecretCommand({ SecretId: created.ARN }));
    assert.equal(d2.CreatedDate.getTime(), d1.CreatedDate.getTime(), 'CreatedDate must not change');
    assert.ok(
      d2.LastChangedDate.getTime() > d1.LastChangedDate.getTime(),
      `LastChangedDate should advance after PutSecretValue (${d1.LastChangedDate.toISOString()} -> ${d2.LastChangedDate.toISOString()})`,
    );
    assert.deepEqual(sortedStages(d2.VersionIdsToStages), {
      [t1]: ['AWSPREVIOUS'],
      [t2]: ['AWSCURRENT'],
    });
  });

  test('on the wire: JSON 1.1, epoch-number timestamps, base64 blobs, __type on errors', async () => {
    const client = smClient(server);
    const raw = captureRawResponses(client);
    try {
      const name = uniqueName('values/wire');
      const bytes = new Uint8Array([0xde, 0xad, 0xbe, 0xef, 0x00]);
      await client.send(new CreateSecretCommand({ Name: name, SecretBinary: bytes }));
      await client.send(new DescribeSecretCommand({ SecretId: name }));
      const describe = raw.at(-1);
      assert.equal(describe.status, 200);
      assert.match(describe.headers['content-type'], /^application\/x-amz-json-1\.1/);
      assert.ok(describe.headers['x-amzn-requestid'], 'x-amzn-RequestId header missing');
      assert.ok(describe.headers.date, 'Date header missing');
      const body = JSON.parse(describe.text);
      assert.equal(typeof body.CreatedDate, 'number', `CreatedDate on the wire: ${describe.text}`);
      assert.equal(typeof body.LastChangedDate, 'number');
      assert.deepEqual(nullMembers(body), [], `absent members must be omitted, not null: ${describe.text}`);

      await client.send(new GetSecretValueCommand({ SecretId: name }));
      const get = JSON.parse(raw.at(-1).text);
      assert.equal(get.SecretBinary, Buffer.from(bytes).toString('base64'));
      assert.equal(typeof get.CreatedDate, 'number');

      await expectAwsError(
        client.send(new DescribeSecretCommand({ SecretId: `${name}-nope` })),
        'ResourceNotFoundException',
      );
      const errorResponse = raw.at(-1);
      assert.equal(errorResponse.status, 400);
      // botocore reads the code only from the body's __type (it strips "prefix#" and ":suffix").
      const type = String(JSON.parse(errorResponse.text).__type ?? '');
      assert.equal(type.split('#').pop().split(':')[0], 'ResourceNotFoundException');
    } finally {
      client.destroy();
    }
  });
});
