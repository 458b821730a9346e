// Secret lifecycle and metadata through the AWS SDK for JavaScript v3: DeleteSecret with a
// recovery window, ListSecrets with and without IncludePlannedDeletion, the deleted-state
// gate (InvalidRequestException), RestoreSecret, forced deletion, TagResource and
// UntagResource, UpdateSecret, and ListSecrets paging.

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';

import {
  CreateSecretCommand,
  DeleteSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretsCommand,
  PutSecretValueCommand,
  RestoreSecretCommand,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateSecretCommand,
} from '@aws-sdk/client-secrets-manager';

import {
  assertRecentDate,
  expectAwsError,
  secretArnPattern,
  smClient,
  sortedStages,
  startCoffer,
  uniqueName,
} from './helpers/coffer.mjs';

const DAY_MS = 24 * 60 * 60 * 1000;

let server;
let sm;

before(async () => {
  server = await startCoffer();
  sm = smClient(server);
});

after(async () => {
  sm?.destroy();
  const info = await server?.stop();
  if (info) assert.equal(info.code, 0, `coffer exit on SIGTERM: ${JSON.stringify(info)}`);
});

/**
 * DeletedDate marks a secret scheduled for deletion. The AWS API reference describes it both
 * as the time of the deletion request (SecretListEntry) and as the date the secret is
 * scheduled for deletion (DescribeSecret), so either is accepted; anything else is not.
 */
function assertDeletedDate(deletedDate, scheduledDeletionDate, what) {
  assert.ok(deletedDate instanceof Date, `${what} should be a Date, got ${deletedDate}`);
  const t = deletedDate.getTime();
  const nearNow = Math.abs(t - Date.now()) < 5 * 60_000;
  const nearScheduled = Math.abs(t - scheduledDeletionDate.getTime()) < 5 * 60_000;
  assert.ok(
    nearNow || nearScheduled,
    `${what} ${deletedDate.toISOString()} is neither now nor the scheduled DeletionDate ${scheduledDeletionDate.toISOString()}`,
  );
}

/** All ListSecrets entries for a name prefix, following NextToken. */
async function listByPrefix(prefix, extra = {}) {
  const entries = [];
  let NextToken;
  for (let page = 0; page < 50; page += 1) {
    const out = await sm.send(
      new ListSecretsCommand({ Filters: [{ Key: 'name', Values: [prefix] }], NextToken, ...extra }),
    );
    entries.push(...out.SecretList);
    if (!out.NextToken) return entries;
    assert.notEqual(out.NextToken, NextToken, 'NextToken did not advance');
    NextToken = out.NextToken;
  }
  throw new Error('ListSecrets did not finish within 50 pages');
}

describe('DeleteSecret, ListSecrets and RestoreSecret', () => {
  test('a secret scheduled for deletion is hidden from ListSecrets unless IncludePlannedDeletion', async () => {
    const prefix = uniqueName('lifecycle/planned');
    const keep = `${prefix}/keep`;
    const doomed = `${prefix}/doomed`;
    await sm.send(new CreateSecretCommand({ Name: keep, SecretString: 'k' }));
    const created = await sm.send(new CreateSecretCommand({ Name: doomed, SecretString: 'd' }));

    const before = Date.now();
    const del = await sm.send(new DeleteSecretCommand({ SecretId: doomed, RecoveryWindowInDays: 7 }));
    assert.equal(del.ARN, created.ARN);
    assert.equal(del.Name, doomed);
    assert.ok(del.DeletionDate instanceof Date, 'DeletionDate should be a Date');
    const expected = before + 7 * DAY_MS;
    assert.ok(
      Math.abs(del.DeletionDate.getTime() - expected) < 10 * 60_000,
      `DeletionDate ${del.DeletionDate.toISOString()} should be 7 days from now`,
    );

    const visible = await listByPrefix(prefix);
    assert.deepEqual(visible.map((s) => s.Name), [keep]);

    const all = await listByPrefix(prefix, { IncludePlannedDeletion: true });
    assert.deepEqual(all.map((s) => s.Name).sort(), [doomed, keep].sort());
    const doomedEntry = all.find((s) => s.Name === doomed);
    assert.equal(doomedEntry.ARN, created.ARN);
    assertDeletedDate(doomedEntry.DeletedDate, del.DeletionDate, 'ListSecrets DeletedDate');
    assert.equal(all.find((s) => s.Name === keep).DeletedDate, undefined);

    const described = await sm.send(new DescribeSecretCommand({ SecretId: doomed }));
    assertDeletedDate(described.DeletedDate, del.DeletionDate, 'DescribeSecret DeletedDate');
  });

  test('operations on a secret scheduled for deletion are InvalidRequestException', async () => {
    const name = uniqueName('lifecycle/gate');
    await sm.send(new CreateSecretCommand({ Name: name, SecretString: 'v1' }));
    await sm.send(new DeleteSecretCommand({ SecretId: name, RecoveryWindowInDays: 30 }));

    await expectAwsError(
      sm.send(new GetSecretValueCommand({ SecretId: name })),
      'InvalidRequestException',
      { httpStatus: 400 },
    );
    await expectAwsError(
      sm.send(new PutSecretValueCommand({ SecretId: name, SecretString: 'v2' })),
      'InvalidRequestException',
      { httpStatus: 400 },
    );
    await expectAwsError(
      sm.send(new UpdateSecretCommand({ SecretId: name, Description: 'nope' })),
      'InvalidRequestException',
    );
    await expectAwsError(
      sm.send(new DeleteSecretCommand({ SecretId: name })),
      'InvalidRequestException',
    );
    // The name stays taken while the secret can still be restored.
    await expectAwsError(
      sm.send(new CreateSecretCommand({ Name: name, SecretString: 'again' })),
      'InvalidRequestException',
    );
  });

  test('RestoreSecret brings the secret and its value back', async () => {
    const name = uniqueName('lifecycle/restore');
    const created = await sm.send(new CreateSecretCommand({ Name: name, SecretString: 'precious' }));
    await sm.send(new DeleteSecretCommand({ SecretId: name }));
    const deleted = await sm.send(new DescribeSecretCommand({ SecretId: name }));
    assert.ok(deleted.DeletedDate instanceof Date, 'DescribeSecret shows DeletedDate while deleted');

    const restored = await sm.send(new RestoreSecretCommand({ SecretId: name }));
    assert.equal(restored.ARN, created.ARN);
    assert.equal(restored.Name, name);

    const d = await sm.send(new DescribeSecretCommand({ SecretId: name }));
    assert.equal(d.DeletedDate, undefined);
    const got = await sm.send(new GetSecretValueCommand({ SecretId: name }));
    assert.equal(got.SecretString, 'precious');
    assert.equal(got.VersionId, created.VersionId);
    const listed = await listByPrefix(name);
    assert.deepEqual(listed.map((s) => s.Name), [name]);

    await expectAwsError(
      sm.send(new RestoreSecretCommand({ SecretId: uniqueName('lifecycle/restore-missing') })),
      'ResourceNotFoundException',
    );
  });

  test('ForceDeleteWithoutRecovery removes the secret; the name can be reused with a new ARN', async () => {
    const name = uniqueName('lifecycle/force');
    const first = await sm.send(new CreateSecretCommand({ Name: name, SecretString: 'one' }));
    const del = await sm.send(
      new DeleteSecretCommand({ SecretId: name, ForceDeleteWithoutRecovery: true }),
    );
    assert.equal(del.Name, name);
    assert.equal(del.ARN, first.ARN);
    assertRecentDate(del.DeletionDate, 'forced DeletionDate');

    await expectAwsError(
      sm.send(new DescribeSecretCommand({ SecretId: name })),
      'ResourceNotFoundException',
    );
    assert.deepEqual(await listByPrefix(name, { IncludePlannedDeletion: true }), []);

    const second = await sm.send(new CreateSecretCommand({ Name: name, SecretString: 'two' }));
    assert.match(second.ARN, secretArnPattern(name));
    assert.notEqual(second.ARN, first.ARN, 'a recreated secret gets a new ARN suffix');
    const got = await sm.send(new GetSecretValueCommand({ SecretId: name }));
    assert.equal(got.SecretString, 'two');
    await expectAwsError(
      sm.send(new GetSecretValueCommand({ SecretId: first.ARN })),
      'ResourceNotFoundException',
    );
  });

  test('DeleteSecret validates its options with InvalidParameterException', async () => {
    const name = uniqueName('lifecycle/badwindow');
    await sm.send(new CreateSecretCommand({ Name: name, SecretString: 'x' }));
    await expectAwsError(
      sm.send(new DeleteSecretCommand({ SecretId: name, RecoveryWindowInDays: 6 })),
      'InvalidParameterException',
      { httpStatus: 400 },
    );
    await expectAwsError(
      sm.send(new DeleteSecretCommand({ SecretId: name, RecoveryWindowInDays: 31 })),
      'InvalidParameterException',
    );
    await expectAwsError(
      sm.send(
        new DeleteSecretCommand({
          SecretId: name,
          RecoveryWindowInDays: 7,
          ForceDeleteWithoutRecovery: true,
        }),
      ),
      'InvalidParameterException',
    );
    const d = await sm.send(new DescribeSecretCommand({ SecretId: name }));
    assert.equal(d.DeletedDate, undefined, 'a rejected DeleteSecret must not delete');
    await expectAwsError(
      sm.send(new DeleteSecretCommand({ SecretId: uniqueName('lifecycle/delete-missing') })),
      'ResourceNotFoundException',
    );
  });
});

describe('tags', () => {
  test('TagResource merges by key, UntagResource removes keys', async () => {
    const name = uniqueName('lifecycle/tags');
    const created = await sm.send(new CreateSecretCommand({ Name: name, SecretString: 't' }));
    const bySortedKey = (tags) =>
      [...(tags ?? [])].sort((a, b) => (a.Key < b.Key ? -1 : a.Key > b.Key ? 1 : 0));

    const tagged = await sm.send(
      new TagResourceCommand({
        SecretId: name,
        Tags: [
          { Key: 'team', Value: 'platform' },
          { Key: 'env', Value: 'dev' },
        ],
      }),
    );
    assert.equal(tagged.$metadata.httpStatusCode, 200);
    let d = await sm.send(new DescribeSecretCommand({ SecretId: name }));
    assert.deepEqual(bySortedKey(d.Tags), [
      { Key: 'env', Value: 'dev' },
      { Key: 'team', Value: 'platform' },
    ]);

    await sm.send(
      new TagResourceCommand({
        SecretId: created.ARN,
        Tags: [
          { Key: 'env', Value: 'prod' },
          { Key: 'Env', Value: 'case-sensitive' },
        ],
      }),
    );
    d = await sm.send(new DescribeSecretCommand({ SecretId: name }));
    assert.deepEqual(bySortedKey(d.Tags), [
      { Key: 'Env', Value: 'case-sensitive' },
      { Key: 'env', Value: 'prod' },
      { Key: 'team', Value: 'platform' },
    ]);

    // Tags show in ListSecrets and can be filtered on.
    const byTag = await listByPrefix(name, {});
    assert.deepEqual(bySortedKey(byTag[0].Tags), bySortedKey(d.Tags));

    await sm.send(new UntagResourceCommand({ SecretId: name, TagKeys: ['team', 'Env', 'absent'] }));
    d = await sm.send(new DescribeSecretCommand({ SecretId: name }));
    assert.deepEqual(bySortedKey(d.Tags), [{ Key: 'env', Value: 'prod' }]);

    await sm.send(new UntagResourceCommand({ SecretId: name, TagKeys: ['env'] }));
    d = await sm.send(new DescribeSecretCommand({ SecretId: name }));
    assert.deepEqual(d.Tags ?? [], []);

    await expectAwsError(
      sm.send(
        new TagResourceCommand({
          SecretId: uniqueName('lifecycle/tags-missing'),
          Tags: [{ Key: 'a', Value: 'b' }],
        }),
      ),
      'ResourceNotFoundException',
    );
  });

  test('ListSecrets filters on tag-key and tag-value', async () => {
    const prefix = uniqueName('lifecycle/tagfilter');
    const marker = `marker-${randomUUID().slice(0, 8)}`;
    await sm.send(
      new CreateSecretCommand({
        Name: `${prefix}/a`,
        SecretString: 'a',
        Tags: [{ Key: marker, Value: 'blue' }],
      }),
    );
    await sm.send(
      new CreateSecretCommand({
        Name: `${prefix}/b`,
        SecretString: 'b',
        Tags: [{ Key: marker, Value: 'green' }],
      }),
    );
    await sm.send(new CreateSecretCommand({ Name: `${prefix}/c`, SecretString: 'c' }));

    const byKey = await sm.send(
      new ListSecretsCommand({ Filters: [{ Key: 'tag-key', Values: [marker] }] }),
    );
    assert.deepEqual(byKey.SecretList.map((s) => s.Name).sort(), [`${prefix}/a`, `${prefix}/b`]);
    const byKeyAndValue = await sm.send(
      new ListSecretsCommand({
        Filters: [
          { Key: 'tag-key', Values: [marker] },
          { Key: 'tag-value', Values: ['green'] },
        ],
      }),
    );
    assert.deepEqual(byKeyAndValue.SecretList.map((s) => s.Name), [`${prefix}/b`]);
  });
});

describe('UpdateSecret and ListSecrets', () => {
  test('UpdateSecret changes metadata without a version, and a value with a new version', async () => {
    const name = uniqueName('lifecycle/update');
    const t1 = randomUUID();
    const t2 = randomUUID();
    await sm.send(
      new CreateSecretCommand({ Name: name, SecretString: 'v1', Description: 'old', ClientRequestToken: t1 }),
    );
    const meta = await sm.send(new UpdateSecretCommand({ SecretId: name, Description: 'new' }));
    assert.equal(meta.Name, name);
    assert.equal(meta.VersionId, undefined, 'a metadata-only update creates no version');
    let d = await sm.send(new DescribeSecretCommand({ SecretId: name }));
    assert.equal(d.Description, 'new');
    assert.deepEqual(sortedStages(d.VersionIdsToStages), { [t1]: ['AWSCURRENT'] });

    const val = await sm.send(
      new UpdateSecretCommand({ SecretId: name, SecretString: 'v2', ClientRequestToken: t2 }),
    );
    assert.equal(val.VersionId, t2);
    d = await sm.send(new DescribeSecretCommand({ SecretId: name }));
    assert.deepEqual(sortedStages(d.VersionIdsToStages), {
      [t1]: ['AWSPREVIOUS'],
      [t2]: ['AWSCURRENT'],
    });
    assert.equal((await sm.send(new GetSecretValueCommand({ SecretId: name }))).SecretString, 'v2');
  });

  test('ListSecrets entries carry SecretVersionsToStages and page with MaxResults', async () => {
    const prefix = uniqueName('lifecycle/page');
    const names = [];
    for (let i = 0; i < 5; i += 1) {
      const name = `${prefix}/s${i}`;
      names.push(name);
      await sm.send(new CreateSecretCommand({ Name: name, SecretString: `value-${i}` }));
    }
    const entries = [];
    let NextToken;
    let pages = 0;
    do {
      const out = await sm.send(
        new ListSecretsCommand({
          Filters: [{ Key: 'name', Values: [prefix] }],
          MaxResults: 2,
          NextToken,
        }),
      );
      pages += 1;
      assert.ok(out.SecretList.length <= 2);
      entries.push(...out.SecretList);
      assert.ok(out.NextToken === undefined || out.NextToken !== NextToken, 'NextToken repeated');
      NextToken = out.NextToken;
      assert.ok(pages <= 20);
    } while (NextToken);
    assert.ok(pages >= 3, `5 secrets at MaxResults 2 need at least 3 pages, got ${pages}`);
    assert.deepEqual(entries.map((e) => e.Name).sort(), names.sort());
    for (const e of entries) {
      assert.match(e.ARN, secretArnPattern(e.Name));
      assertRecentDate(e.CreatedDate, `${e.Name}.CreatedDate`);
      assert.equal(Object.keys(e.SecretVersionsToStages).length, 1);
      assert.deepEqual(Object.values(e.SecretVersionsToStages)[0], ['AWSCURRENT']);
    }

    await expectAwsError(
      sm.send(new ListSecretsCommand({ NextToken: 'not-a-token-the-server-issued' })),
      'InvalidNextTokenException',
    );
  });
});
