// SSM Parameter Store through the AWS SDK for JavaScript v3 (@aws-sdk/client-ssm):
// PutParameter/GetParameter for String, StringList and SecureString (WithDecryption on and
// off), Overwrite and versions, GetParameterHistory, labels and name:version / name:label
// selectors, GetParametersByPath (one level, recursive, paging), DescribeParameters with
// ParameterFilters, GetParameters, DeleteParameter(s), tags, the
// /aws/reference/secretsmanager/<secret> bridge, and the service's error classes.

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';

import { CreateSecretCommand, PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import {
  AddTagsToResourceCommand,
  DeleteParameterCommand,
  DeleteParametersCommand,
  DescribeParametersCommand,
  GetParameterCommand,
  GetParameterHistoryCommand,
  GetParametersByPathCommand,
  GetParametersCommand,
  LabelParameterVersionCommand,
  ListTagsForResourceCommand,
  PutParameterCommand,
  RemoveTagsFromResourceCommand,
  UnlabelParameterVersionCommand,
  paginateDescribeParameters,
  paginateGetParameterHistory,
  paginateGetParametersByPath,
} from '@aws-sdk/client-ssm';

import {
  ACCESS_KEY_ID,
  ACCOUNT_ID,
  REGION,
  assertRecentDate,
  captureRawResponses,
  expectAwsError,
  smClient,
  ssmClient,
  startCoffer,
  staticCredentials,
} from './helpers/coffer.mjs';

const RUN = randomUUID().slice(0, 8);
/** Every parameter this file creates lives under P (except the top-level-name checks). */
const P = `/e2e-js/${RUN}`;
const ARN_PREFIX = `arn:aws:ssm:${REGION}:${ACCOUNT_ID}:parameter`;
const ROOT_ARN = `arn:aws:iam::${ACCOUNT_ID}:root`;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

let server;
let ssm;
let sm;
const extraClients = [];

before(async () => {
  server = await startCoffer();
  ssm = ssmClient(server);
  sm = smClient(server);
});

after(async () => {
  ssm?.destroy();
  sm?.destroy();
  for (const c of extraClients) c.destroy();
  const info = await server?.stop();
  if (info) assert.equal(info.code, 0, `coffer exit on SIGTERM: ${JSON.stringify(info)}`);
});

// ------------------------------------------------------------------ helpers
const put = (input) => ssm.send(new PutParameterCommand(input));
const getParam = async (Name, WithDecryption) =>
  (await ssm.send(new GetParameterCommand({ Name, WithDecryption }))).Parameter;
const history = async (Name, extra = {}) =>
  (await ssm.send(new GetParameterHistoryCommand({ Name, ...extra }))).Parameters;
const listTags = async (ResourceId) =>
  (await ssm.send(new ListTagsForResourceCommand({ ResourceType: 'Parameter', ResourceId }))).TagList;
const sortedTags = (tags) =>
  [...(tags ?? [])].map(({ Key, Value }) => ({ Key, Value })).sort((a, b) => a.Key.localeCompare(b.Key));
const names = (params) => (params ?? []).map((p) => p.Name).sort();
const sorted = (list) => [...(list ?? [])].sort();

/** All parameters of GetParametersByPath, following NextToken with the SDK paginator. */
async function byPath(input, pageSize = 10) {
  const out = [];
  for await (const page of paginateGetParametersByPath({ client: ssm, pageSize }, input)) {
    out.push(...(page.Parameters ?? []));
  }
  return out;
}

/** All metadata entries of DescribeParameters, following NextToken. */
async function describeAll(input = {}, pageSize = 50) {
  const out = [];
  for await (const page of paginateDescribeParameters({ client: ssm, pageSize }, input)) {
    out.push(...(page.Parameters ?? []));
  }
  return out;
}

/** Asserts `value` looks like SecureString ciphertext: base64, and the plaintext nowhere in it. */
function assertCiphertext(value, plaintext, what) {
  assert.equal(typeof value, 'string', `${what}: Value should be a string`);
  assert.notEqual(value, plaintext, `${what}: Value must not be the plaintext`);
  assert.ok(!value.includes(plaintext), `${what}: Value contains the plaintext: ${value}`);
  assert.match(value, BASE64, `${what}: Value is not base64: ${value}`);
  assert.equal(value.length % 4, 0, `${what}: base64 length not a multiple of 4`);
  const raw = Buffer.from(value, 'base64');
  assert.ok(
    raw.length > Buffer.byteLength(plaintext),
    `${what}: ciphertext (${raw.length} bytes) should be longer than the plaintext`,
  );
  assert.ok(!raw.includes(Buffer.from(plaintext)), `${what}: decoded ciphertext holds the plaintext`);
}

// ------------------------------------------------------------------ put / get
describe('PutParameter / GetParameter', () => {
  test('a String parameter round-trips with its metadata', async () => {
    const Name = `${P}/basic/greeting`;
    const Value = 'hello, wörld = "quoted" & <tagged>';
    const out = await put({ Name, Value, Type: 'String', Description: 'a greeting' });
    assert.equal(out.Version, 1);
    assert.equal(out.Tier, 'Standard');

    const p = await getParam(Name);
    assert.equal(p.Name, Name);
    assert.equal(p.Type, 'String');
    assert.equal(p.Value, Value);
    assert.equal(p.Version, 1);
    assert.equal(p.ARN, `${ARN_PREFIX}${Name}`);
    assert.equal(p.DataType, 'text');
    assert.equal(p.Selector, undefined, 'no Selector without a selector in the name');
    assert.equal(p.SourceResult, undefined);
    assertRecentDate(p.LastModifiedDate, 'Parameter.LastModifiedDate');
  });

  test('GetParameter accepts the parameter ARN as Name', async () => {
    const Name = `${P}/basic/by-arn`;
    await put({ Name, Value: 'via-arn', Type: 'String' });
    const p = await getParam(`${ARN_PREFIX}${Name}`);
    assert.equal(p.Value, 'via-arn');
    assert.equal(p.Version, 1);
    assert.equal(p.ARN, `${ARN_PREFIX}${Name}`);
  });

  test('a top-level name without a slash gets a single-slash ARN', async () => {
    const Name = `e2e-js-${RUN}-top`;
    await put({ Name, Value: 'top', Type: 'String' });
    const p = await getParam(Name);
    assert.equal(p.Name, Name);
    assert.equal(p.ARN, `${ARN_PREFIX}/${Name}`);
  });

  test('StringList keeps its comma-separated items', async () => {
    const Name = `${P}/basic/origins`;
    const Value = 'https://a.example,https://b.example,https://c.example';
    const out = await put({ Name, Value, Type: 'StringList' });
    assert.equal(out.Version, 1);
    const p = await getParam(Name);
    assert.equal(p.Type, 'StringList');
    assert.equal(p.Value, Value);
    assert.deepEqual(p.Value.split(','), [
      'https://a.example',
      'https://b.example',
      'https://c.example',
    ]);
  });

  test('SecureString: WithDecryption=true gives the plaintext, otherwise base64 ciphertext', async () => {
    const Name = `${P}/secure/db-password`;
    const plaintext = `pa55-${randomUUID()}`;
    const out = await put({ Name, Value: plaintext, Type: 'SecureString', Description: 'sealed' });
    assert.equal(out.Version, 1);
    assert.equal(out.Tier, 'Standard');

    const clear = await getParam(Name, true);
    assert.equal(clear.Type, 'SecureString');
    assert.equal(clear.Value, plaintext);
    assert.equal(clear.Version, 1);

    const sealed = await getParam(Name, false);
    assert.equal(sealed.Type, 'SecureString');
    assertCiphertext(sealed.Value, plaintext, 'GetParameter WithDecryption=false');
    const omitted = await getParam(Name);
    assertCiphertext(omitted.Value, plaintext, 'GetParameter without WithDecryption');
  });

  test('every read path honours WithDecryption for SecureString', async () => {
    const Name = `${P}/secure/api-token`;
    const plaintext = `tok-${randomUUID()}`;
    await put({ Name, Value: plaintext, Type: 'SecureString' });

    for (const WithDecryption of [true, false]) {
      const what = (op) => `${op} WithDecryption=${WithDecryption}`;
      const check = (value, op) =>
        WithDecryption
          ? assert.equal(value, plaintext, what(op))
          : assertCiphertext(value, plaintext, what(op));

      const many = await ssm.send(new GetParametersCommand({ Names: [Name], WithDecryption }));
      assert.equal(many.Parameters.length, 1);
      check(many.Parameters[0].Value, 'GetParameters');

      const tree = await byPath({ Path: `${P}/secure`, WithDecryption });
      const mine = tree.find((p) => p.Name === Name);
      assert.ok(mine, `GetParametersByPath lists ${Name}`);
      check(mine.Value, 'GetParametersByPath');

      const hist = await history(Name, { WithDecryption });
      assert.equal(hist.length, 1);
      check(hist[0].Value, 'GetParameterHistory');
    }
  });

  test('WithDecryption is ignored for String parameters', async () => {
    const Name = `${P}/basic/plain`;
    await put({ Name, Value: 'not-secret', Type: 'String' });
    assert.equal((await getParam(Name, true)).Value, 'not-secret');
    assert.equal((await getParam(Name, false)).Value, 'not-secret');
  });

  test('SecureString keys: alias/aws/ssm by default or explicit; unknown keys are InvalidKeyId', async () => {
    const Name = `${P}/secure/explicit-key`;
    await put({ Name, Value: 'k1', Type: 'SecureString', KeyId: 'alias/aws/ssm' });
    assert.equal((await getParam(Name, true)).Value, 'k1');

    const meta = await describeAll({
      ParameterFilters: [{ Key: 'Path', Option: 'OneLevel', Values: [`${P}/secure`] }],
    });
    const byName = Object.fromEntries(meta.map((m) => [m.Name, m]));
    for (const n of [`${P}/secure/db-password`, Name]) {
      assert.ok(byName[n], `DescribeParameters lists ${n}`);
      assert.equal(byName[n].Type, 'SecureString');
      assert.equal(byName[n].KeyId, 'alias/aws/ssm', `KeyId of ${n}`);
    }
    const plain = await describeAll({
      ParameterFilters: [{ Key: 'Name', Option: 'Equals', Values: [`${P}/basic/greeting`] }],
    });
    assert.equal(plain.length, 1);
    assert.equal(plain[0].KeyId, undefined, 'a String parameter has no KeyId');

    const missing = `${P}/secure/bad-key`;
    await expectAwsError(
      put({ Name: missing, Value: 'x', Type: 'SecureString', KeyId: `alias/e2e-no-such-key-${RUN}` }),
      'InvalidKeyId',
      { httpStatus: 400 },
    );
    await expectAwsError(
      put({ Name: missing, Value: 'x', Type: 'SecureString', KeyId: randomUUID() }),
      'InvalidKeyId',
    );
    await expectAwsError(getParam(missing), 'ParameterNotFound');
  });
});

// ------------------------------------------------------------------ overwrite / history
describe('Overwrite, versions and GetParameterHistory', () => {
  const Name = `${P}/versions/level`;

  test('a second put without Overwrite is ParameterAlreadyExists; with it, the version grows', async () => {
    assert.equal((await put({ Name, Value: 'v1', Type: 'String', Description: 'first' })).Version, 1);
    await expectAwsError(put({ Name, Value: 'v1-again', Type: 'String' }), 'ParameterAlreadyExists', {
      httpStatus: 400,
    });
    await expectAwsError(
      put({ Name, Value: 'v1-again', Type: 'String', Overwrite: false }),
      'ParameterAlreadyExists',
    );
    const still = await getParam(Name);
    assert.equal(still.Value, 'v1');
    assert.equal(still.Version, 1);

    // Type may be left out on overwrite: the parameter keeps its type.
    const v2 = await put({ Name, Value: 'v2', Overwrite: true });
    assert.equal(v2.Version, 2);
    assert.equal(v2.Tier, 'Standard');
    const p2 = await getParam(Name);
    assert.equal(p2.Value, 'v2');
    assert.equal(p2.Type, 'String');
    assert.equal(p2.Version, 2);

    const v3 = await put({ Name, Value: 'v3', Type: 'String', Overwrite: true, Description: 'third' });
    assert.equal(v3.Version, 3);
    assert.equal((await getParam(Name)).Value, 'v3');
  });

  test('GetParameterHistory lists every version, oldest first, with epoch-number timestamps', async () => {
    const client = ssmClient(server);
    extraClients.push(client);
    const raw = captureRawResponses(client);
    const out = await client.send(new GetParameterHistoryCommand({ Name }));
    const h = out.Parameters;
    assert.deepEqual(
      h.map((v) => v.Version),
      [1, 2, 3],
    );
    assert.deepEqual(
      h.map((v) => v.Value),
      ['v1', 'v2', 'v3'],
    );
    assert.deepEqual(
      h.map((v) => v.Description),
      ['first', 'first', 'third'],
      'an overwrite without Description keeps the previous one',
    );
    let prev = 0;
    for (const v of h) {
      assert.equal(v.Name, Name);
      assert.equal(v.Type, 'String');
      assert.equal(v.Tier, 'Standard');
      assert.equal(v.DataType, 'text');
      assert.equal(v.LastModifiedUser, ROOT_ARN);
      assertRecentDate(v.LastModifiedDate, `history v${v.Version} LastModifiedDate`);
      assert.ok(v.LastModifiedDate.getTime() >= prev, 'LastModifiedDate never goes backwards');
      prev = v.LastModifiedDate.getTime();
    }
    // The SDK would throw on ISO strings; check the wire anyway: JSON numbers of epoch seconds.
    assert.equal(raw.length, 1);
    assert.equal(raw[0].status, 200);
    const body = JSON.parse(raw[0].text);
    for (const v of body.Parameters) {
      assert.equal(typeof v.LastModifiedDate, 'number', `raw LastModifiedDate: ${v.LastModifiedDate}`);
      assert.ok(Math.abs(v.LastModifiedDate - Date.now() / 1000) < 300, 'epoch seconds, not ms');
    }
    const got = await client.send(new GetParameterCommand({ Name }));
    assert.equal(got.Parameter.Version, 3);
    assert.equal(typeof JSON.parse(raw[1].text).Parameter.LastModifiedDate, 'number');
  });

  test('GetParameterHistory pages with MaxResults', async () => {
    const versions = [];
    let pages = 0;
    for await (const page of paginateGetParameterHistory({ client: ssm, pageSize: 2 }, { Name })) {
      pages += 1;
      assert.ok((page.Parameters ?? []).length <= 2, 'a page holds at most MaxResults entries');
      versions.push(...page.Parameters.map((v) => v.Version));
      assert.ok(pages <= 10, 'the history paginator does not end');
    }
    assert.deepEqual(versions, [1, 2, 3]);
    assert.ok(pages >= 2, `3 versions at 2 per page need 2 pages, got ${pages}`);
  });

  test('GetParameterHistory of a missing parameter is ParameterNotFound', async () => {
    await expectAwsError(history(`${P}/versions/none`), 'ParameterNotFound', { httpStatus: 400 });
  });
});

// ------------------------------------------------------------------ labels / selectors
describe('labels and selectors', () => {
  const Name = `${P}/labels/db-host`;

  before(async () => {
    await put({ Name, Value: 'db-1', Type: 'String' });
    await put({ Name, Value: 'db-2', Overwrite: true });
    await put({ Name, Value: 'db-3', Overwrite: true });
  });

  const label = (input) => ssm.send(new LabelParameterVersionCommand({ Name, ...input }));
  const labelsByVersion = async () =>
    Object.fromEntries((await history(Name)).map((v) => [v.Version, sorted(v.Labels)]));

  test('LabelParameterVersion attaches labels; name:label and name:version select versions', async () => {
    const out = await label({ ParameterVersion: 1, Labels: ['stable', 'blue'] });
    assert.equal(out.ParameterVersion, 1);
    assert.deepEqual(out.InvalidLabels ?? [], []);

    const byLabel = await getParam(`${Name}:stable`);
    assert.equal(byLabel.Name, Name, 'Name is the bare name, without the selector');
    assert.equal(byLabel.Value, 'db-1');
    assert.equal(byLabel.Version, 1);
    assert.equal(byLabel.Selector, ':stable');

    const byVersion = await getParam(`${Name}:2`);
    assert.equal(byVersion.Name, Name);
    assert.equal(byVersion.Value, 'db-2');
    assert.equal(byVersion.Version, 2);
    assert.equal(byVersion.Selector, ':2');

    const latest = await getParam(Name);
    assert.equal(latest.Value, 'db-3');
    assert.equal(latest.Selector, undefined);

    const many = await ssm.send(new GetParametersCommand({ Names: [`${Name}:blue`, `${Name}:3`] }));
    assert.deepEqual(many.InvalidParameters ?? [], []);
    const bySelector = Object.fromEntries(many.Parameters.map((p) => [p.Selector, p]));
    assert.deepEqual(Object.keys(bySelector).sort(), [':3', ':blue']);
    assert.equal(bySelector[':blue'].Value, 'db-1');
    assert.equal(bySelector[':3'].Value, 'db-3');
  });

  test('without ParameterVersion the latest version is labelled; a label moves between versions', async () => {
    const out = await label({ Labels: ['newest'] });
    assert.equal(out.ParameterVersion, 3);
    await label({ ParameterVersion: 2, Labels: ['stable'] });
    assert.deepEqual(await labelsByVersion(), { 1: ['blue'], 2: ['stable'], 3: ['newest'] });
    assert.equal((await getParam(`${Name}:stable`)).Value, 'db-2');
  });

  test('invalid labels come back in InvalidLabels, valid ones are still applied', async () => {
    const out = await label({ ParameterVersion: 3, Labels: ['9lives', 'aws-thing', 'SSMish', 'ok.label_1'] });
    assert.equal(out.ParameterVersion, 3);
    assert.deepEqual(sorted(out.InvalidLabels), ['9lives', 'SSMish', 'aws-thing']);
    assert.deepEqual((await labelsByVersion())[3], ['newest', 'ok.label_1']);
  });

  test('a version holds at most 10 labels', async () => {
    // One request carries at most 10 labels (a model constraint, so a ValidationException)...
    const eleven = Array.from({ length: 11 }, (_, i) => `many-${i}`);
    await expectAwsError(label({ ParameterVersion: 1, Labels: eleven }), 'ValidationException');
    // ...and 10 more on version 1, which already has 'blue', would make 11 on one version.
    await expectAwsError(
      label({ ParameterVersion: 1, Labels: eleven.slice(0, 10) }),
      'ParameterVersionLabelLimitExceeded',
    );
  });

  test('UnlabelParameterVersion removes labels and reports the ones that were not there', async () => {
    const out = await ssm.send(
      new UnlabelParameterVersionCommand({ Name, ParameterVersion: 2, Labels: ['stable', 'not-there'] }),
    );
    assert.deepEqual(out.RemovedLabels, ['stable']);
    assert.deepEqual(out.InvalidLabels, ['not-there']);
    assert.deepEqual((await labelsByVersion())[2], []);
    await expectAwsError(getParam(`${Name}:stable`), 'ParameterNotFound');
  });

  test('unknown versions and labels are errors', async () => {
    await expectAwsError(getParam(`${Name}:99`), 'ParameterVersionNotFound', { httpStatus: 400 });
    await expectAwsError(getParam(`${Name}:no-such-label`), 'ParameterNotFound', { httpStatus: 400 });
    await expectAwsError(label({ ParameterVersion: 99, Labels: ['x'] }), 'ParameterVersionNotFound');
    await expectAwsError(
      ssm.send(new LabelParameterVersionCommand({ Name: `${P}/labels/none`, Labels: ['x'] })),
      'ParameterNotFound',
    );
    await expectAwsError(
      ssm.send(new UnlabelParameterVersionCommand({ Name, ParameterVersion: 99, Labels: ['x'] })),
      'ParameterVersionNotFound',
    );
  });
});

// ------------------------------------------------------------------ by path
describe('GetParametersByPath', () => {
  const T = `${P}/tree`;
  const secret = `s-${randomUUID()}`;

  before(async () => {
    await put({ Name: `${T}/a`, Value: 'A', Type: 'String' });
    await put({ Name: `${T}/b`, Value: 'x,y', Type: 'StringList' });
    await put({ Name: `${T}/sub/c`, Value: secret, Type: 'SecureString' });
    await put({ Name: `${T}/sub/deep/d`, Value: 'D', Type: 'String' });
    // A sibling sharing the path as a string prefix, which must never show up under T.
    await put({ Name: `${P}/treeish/x`, Value: 'X', Type: 'String' });
  });

  test('Recursive=false returns the direct children only', async () => {
    const one = await byPath({ Path: T });
    assert.deepEqual(names(one), [`${T}/a`, `${T}/b`]);
    const values = Object.fromEntries(one.map((p) => [p.Name, [p.Type, p.Value, p.Version]]));
    assert.deepEqual(values, { [`${T}/a`]: ['String', 'A', 1], [`${T}/b`]: ['StringList', 'x,y', 1] });
    assert.deepEqual(names(await byPath({ Path: `${T}/` })), [`${T}/a`, `${T}/b`], 'trailing slash');
    assert.deepEqual(names(await byPath({ Path: `${T}/sub` })), [`${T}/sub/c`]);
    for (const p of one) assert.equal(p.ARN, `${ARN_PREFIX}${p.Name}`);
  });

  test('Recursive=true returns every descendant', async () => {
    const all = await byPath({ Path: T, Recursive: true });
    assert.deepEqual(names(all), [`${T}/a`, `${T}/b`, `${T}/sub/c`, `${T}/sub/deep/d`]);
    const c = all.find((p) => p.Name === `${T}/sub/c`);
    assertCiphertext(c.Value, secret, 'GetParametersByPath SecureString without WithDecryption');
  });

  test('a Type filter narrows the result', async () => {
    const only = await byPath({
      Path: T,
      Recursive: true,
      WithDecryption: true,
      ParameterFilters: [{ Key: 'Type', Option: 'Equals', Values: ['SecureString'] }],
    });
    assert.deepEqual(names(only), [`${T}/sub/c`]);
    assert.equal(only[0].Value, secret);
  });

  test('a path with nothing under it is an empty list', async () => {
    const out = await ssm.send(new GetParametersByPathCommand({ Path: `${P}/nothing-here`, Recursive: true }));
    assert.deepEqual(out.Parameters ?? [], []);
    assert.equal(out.NextToken, undefined);
  });

  test('MaxResults above 10 and tag: filters are rejected', async () => {
    await expectAwsError(
      ssm.send(new GetParametersByPathCommand({ Path: T, MaxResults: 11 })),
      'ValidationException',
      { httpStatus: 400 },
    );
    await expectAwsError(
      ssm.send(
        new GetParametersByPathCommand({
          Path: T,
          ParameterFilters: [{ Key: 'tag:team', Option: 'Equals', Values: ['blue'] }],
        }),
      ),
      'InvalidFilterKey',
    );
  });

  test('MaxResults=10 over 25 parameters pages with advancing NextTokens', async () => {
    const G = `${P}/page`;
    const expected = [];
    for (let i = 1; i <= 25; i += 1) {
      const Name = `${G}/p${String(i).padStart(2, '0')}`;
      expected.push(Name);
      await put({ Name, Value: `value-${i}`, Type: 'String' });
    }
    // One deeper parameter that a one-level listing must skip.
    await put({ Name: `${G}/deeper/skip-me`, Value: 'no', Type: 'String' });

    const seen = [];
    const tokens = [];
    let NextToken;
    let pages = 0;
    do {
      const out = await ssm.send(new GetParametersByPathCommand({ Path: G, MaxResults: 10, NextToken }));
      pages += 1;
      assert.ok(pages <= 30, 'paging does not end');
      const items = out.Parameters ?? [];
      assert.ok(items.length <= 10, `page ${pages} has ${items.length} > MaxResults items`);
      seen.push(...items.map((p) => p.Name));
      for (const p of items) assert.equal(p.Value, `value-${Number(p.Name.slice(-2))}`);
      if (out.NextToken) {
        assert.ok(!tokens.includes(out.NextToken), `NextToken repeated on page ${pages}`);
        tokens.push(out.NextToken);
      }
      NextToken = out.NextToken;
    } while (NextToken);
    assert.ok(pages >= 3, `25 parameters at 10 per page need at least 3 pages, got ${pages}`);
    assert.equal(new Set(seen).size, seen.length, `a parameter came twice: ${seen}`);
    assert.deepEqual(sorted(seen), expected);

    // The SDK paginator agrees, and Recursive adds exactly the deeper one.
    assert.deepEqual(names(await byPath({ Path: G })), expected);
    assert.deepEqual(
      names(await byPath({ Path: G, Recursive: true })),
      sorted([...expected, `${G}/deeper/skip-me`]),
    );
  });
});

// ------------------------------------------------------------------ describe
describe('DescribeParameters', () => {
  const D = `${P}/described`;

  before(async () => {
    await put({
      Name: `${D}/alpha`,
      Value: 'a',
      Type: 'String',
      Description: 'first of its kind',
      Tags: [{ Key: 'team', Value: 'blue' }],
    });
    await put({ Name: `${D}/beta`, Value: 'b1,b2', Type: 'StringList', Tags: [{ Key: 'team', Value: 'red' }] });
    await put({
      Name: `${D}/nested/gamma`,
      Value: 'g',
      Type: 'SecureString',
      Tags: [{ Key: 'team', Value: 'blue' }],
    });
    await put({ Name: `${D}/nested/deeper/delta`, Value: 'd', Type: 'String' });
  });

  const describeNames = async (ParameterFilters) => names(await describeAll({ ParameterFilters }));

  test('Path OneLevel and Recursive', async () => {
    assert.deepEqual(await describeNames([{ Key: 'Path', Option: 'OneLevel', Values: [D] }]), [
      `${D}/alpha`,
      `${D}/beta`,
    ]);
    assert.deepEqual(await describeNames([{ Key: 'Path', Option: 'Recursive', Values: [D] }]), [
      `${D}/alpha`,
      `${D}/beta`,
      `${D}/nested/deeper/delta`,
      `${D}/nested/gamma`,
    ]);
  });

  test('Name, Type and tag: filters', async () => {
    assert.deepEqual(await describeNames([{ Key: 'Name', Option: 'Equals', Values: [`${D}/alpha`] }]), [
      `${D}/alpha`,
    ]);
    assert.deepEqual(await describeNames([{ Key: 'Name', Option: 'BeginsWith', Values: [`${D}/nested`] }]), [
      `${D}/nested/deeper/delta`,
      `${D}/nested/gamma`,
    ]);
    // Name BeginsWith D scopes the rest to this group.
    const mine = { Key: 'Name', Option: 'BeginsWith', Values: [`${D}/`] };
    assert.deepEqual(await describeNames([mine, { Key: 'Type', Option: 'Equals', Values: ['StringList'] }]), [
      `${D}/beta`,
    ]);
    assert.deepEqual(
      await describeNames([mine, { Key: 'Type', Option: 'Equals', Values: ['String', 'SecureString'] }]),
      [`${D}/alpha`, `${D}/nested/deeper/delta`, `${D}/nested/gamma`],
    );
    assert.deepEqual(await describeNames([mine, { Key: 'tag:team', Values: ['blue'] }]), [
      `${D}/alpha`,
      `${D}/nested/gamma`,
    ]);
    assert.deepEqual(await describeNames([{ Key: 'tag:team', Option: 'Equals', Values: ['red'] }, mine]), [
      `${D}/beta`,
    ]);
  });

  test('Path combined with Type and tag: filters', async () => {
    const rec = { Key: 'Path', Option: 'Recursive', Values: [D] };
    const one = { Key: 'Path', Option: 'OneLevel', Values: [`${D}/nested`] };
    assert.deepEqual(await describeNames([rec, { Key: 'Type', Option: 'Equals', Values: ['StringList'] }]), [
      `${D}/beta`,
    ]);
    assert.deepEqual(await describeNames([rec, { Key: 'tag:team', Values: ['blue'] }]), [
      `${D}/alpha`,
      `${D}/nested/gamma`,
    ]);
    assert.deepEqual(await describeNames([one, { Key: 'Type', Option: 'Equals', Values: ['String'] }]), []);
    assert.deepEqual(await describeNames([{ Key: 'Type', Values: ['SecureString'] }, one]), [`${D}/nested/gamma`]);
  });

  test('entries are metadata without values', async () => {
    const [alpha] = await describeAll({
      ParameterFilters: [{ Key: 'Name', Option: 'Equals', Values: [`${D}/alpha`] }],
    });
    assert.ok(alpha, 'alpha listed');
    assert.equal(alpha.Name, `${D}/alpha`);
    assert.equal(alpha.ARN, `${ARN_PREFIX}${D}/alpha`);
    assert.equal(alpha.Type, 'String');
    assert.equal(alpha.Version, 1);
    assert.equal(alpha.Tier, 'Standard');
    assert.equal(alpha.DataType, 'text');
    assert.equal(alpha.Description, 'first of its kind');
    assert.equal(alpha.LastModifiedUser, ROOT_ARN);
    assertRecentDate(alpha.LastModifiedDate, 'ParameterMetadata.LastModifiedDate');
    assert.ok(!('Value' in alpha), 'DescribeParameters must not return values');
  });

  test('bad filters are rejected with the matching error class', async () => {
    const send = (input) => ssm.send(new DescribeParametersCommand(input));
    await expectAwsError(
      send({ ParameterFilters: [{ Key: 'Label', Option: 'Equals', Values: ['x'] }] }),
      'InvalidFilterKey',
    );
    await expectAwsError(
      send({ ParameterFilters: [{ Key: 'Path', Option: 'Equals', Values: [D] }] }),
      'InvalidFilterOption',
    );
    await expectAwsError(
      send({
        Filters: [{ Key: 'Name', Values: [`${D}/alpha`] }],
        ParameterFilters: [{ Key: 'Type', Values: ['String'] }],
      }),
      'ValidationException',
    );
  });
});

// ------------------------------------------------------------------ GetParameters
describe('GetParameters', () => {
  test('found parameters and InvalidParameters for the missing ones', async () => {
    const G = `${P}/multi`;
    await put({ Name: `${G}/one`, Value: '1', Type: 'String' });
    await put({ Name: `${G}/two`, Value: '2', Type: 'String' });
    const out = await ssm.send(
      new GetParametersCommand({ Names: [`${G}/two`, `${G}/missing-b`, `${G}/one`, `${G}/missing-a`] }),
    );
    assert.deepEqual(names(out.Parameters), [`${G}/one`, `${G}/two`]);
    assert.deepEqual(
      Object.fromEntries(out.Parameters.map((p) => [p.Name, p.Value])),
      { [`${G}/one`]: '1', [`${G}/two`]: '2' },
    );
    assert.deepEqual(sorted(out.InvalidParameters), [`${G}/missing-a`, `${G}/missing-b`]);

    const none = await ssm.send(new GetParametersCommand({ Names: [`${G}/nope`] }));
    assert.deepEqual(none.Parameters ?? [], []);
    assert.deepEqual(none.InvalidParameters, [`${G}/nope`]);
  });

  test('more than 10 names is a ValidationException', async () => {
    const Names = Array.from({ length: 11 }, (_, i) => `${P}/multi/n${i}`);
    await expectAwsError(ssm.send(new GetParametersCommand({ Names })), 'ValidationException', {
      httpStatus: 400,
    });
  });
});

// ------------------------------------------------------------------ delete
describe('DeleteParameter / DeleteParameters', () => {
  test('DeleteParameter removes every version; a missing name is ParameterNotFound', async () => {
    const Name = `${P}/delete/single`;
    await put({ Name, Value: 'one', Type: 'String', Tags: [{ Key: 'gone', Value: 'soon' }] });
    await put({ Name, Value: 'two', Overwrite: true });
    await ssm.send(new LabelParameterVersionCommand({ Name, ParameterVersion: 1, Labels: ['old'] }));
    await ssm.send(new DeleteParameterCommand({ Name }));
    await expectAwsError(getParam(Name), 'ParameterNotFound');
    await expectAwsError(getParam(`${Name}:1`), 'ParameterNotFound');
    await expectAwsError(history(Name), 'ParameterNotFound');
    await expectAwsError(ssm.send(new DeleteParameterCommand({ Name })), 'ParameterNotFound', {
      httpStatus: 400,
    });

    // Re-created, it starts over: version 1, no labels, no tags.
    const again = await put({ Name, Value: 'fresh', Type: 'String' });
    assert.equal(again.Version, 1);
    const h = await history(Name);
    assert.deepEqual(
      h.map((v) => [v.Version, v.Value, sorted(v.Labels)]),
      [[1, 'fresh', []]],
    );
    assert.deepEqual(sortedTags(await listTags(Name)), []);
  });

  test('DeleteParameters reports deleted and invalid names', async () => {
    const G = `${P}/delete/batch`;
    await put({ Name: `${G}/x`, Value: 'x', Type: 'String' });
    await put({ Name: `${G}/y`, Value: 'y', Type: 'SecureString' });
    await put({ Name: `${G}/keep`, Value: 'k', Type: 'String' });
    const out = await ssm.send(new DeleteParametersCommand({ Names: [`${G}/x`, `${G}/missing`, `${G}/y`] }));
    assert.deepEqual(sorted(out.DeletedParameters), [`${G}/x`, `${G}/y`]);
    assert.deepEqual(out.InvalidParameters, [`${G}/missing`]);
    assert.deepEqual(names(await byPath({ Path: G })), [`${G}/keep`]);

    const none = await ssm.send(new DeleteParametersCommand({ Names: [`${G}/missing`] }));
    assert.deepEqual(none.DeletedParameters ?? [], []);
    assert.deepEqual(none.InvalidParameters, [`${G}/missing`]);
  });
});

// ------------------------------------------------------------------ tags
describe('tags', () => {
  const Name = `${P}/tagged/service-url`;

  test('PutParameter Tags, AddTagsToResource, RemoveTagsFromResource, ListTagsForResource', async () => {
    await put({
      Name,
      Value: 'https://svc.example',
      Type: 'String',
      Tags: [
        { Key: 'env', Value: 'dev' },
        { Key: 'team', Value: 'blue' },
      ],
    });
    assert.deepEqual(sortedTags(await listTags(Name)), [
      { Key: 'env', Value: 'dev' },
      { Key: 'team', Value: 'blue' },
    ]);

    await ssm.send(
      new AddTagsToResourceCommand({
        ResourceType: 'Parameter',
        ResourceId: Name,
        Tags: [
          { Key: 'env', Value: 'prod' },
          { Key: 'owner', Value: 'platform@example.com' },
        ],
      }),
    );
    assert.deepEqual(sortedTags(await listTags(Name)), [
      { Key: 'env', Value: 'prod' },
      { Key: 'owner', Value: 'platform@example.com' },
      { Key: 'team', Value: 'blue' },
    ]);

    await ssm.send(
      new RemoveTagsFromResourceCommand({ ResourceType: 'Parameter', ResourceId: Name, TagKeys: ['team'] }),
    );
    assert.deepEqual(sortedTags(await listTags(Name)), [
      { Key: 'env', Value: 'prod' },
      { Key: 'owner', Value: 'platform@example.com' },
    ]);

    // Tags are metadata: they do not create versions.
    assert.equal((await getParam(Name)).Version, 1);
  });

  test('Tags together with Overwrite is a ValidationException', async () => {
    await expectAwsError(
      put({ Name, Value: 'v2', Type: 'String', Overwrite: true, Tags: [{ Key: 'a', Value: 'b' }] }),
      'ValidationException',
    );
    assert.equal((await getParam(Name)).Value, 'https://svc.example');
  });

  test('tag operations on a missing parameter are InvalidResourceId', async () => {
    const ResourceId = `${P}/tagged/missing`;
    await expectAwsError(listTags(ResourceId), 'InvalidResourceId', { httpStatus: 400 });
    await expectAwsError(
      ssm.send(
        new AddTagsToResourceCommand({
          ResourceType: 'Parameter',
          ResourceId,
          Tags: [{ Key: 'a', Value: 'b' }],
        }),
      ),
      'InvalidResourceId',
    );
    await expectAwsError(
      ssm.send(new RemoveTagsFromResourceCommand({ ResourceType: 'Parameter', ResourceId, TagKeys: ['a'] })),
      'InvalidResourceId',
    );
  });
});

// ------------------------------------------------------------------ secrets manager bridge
describe('/aws/reference/secretsmanager/<secret>', () => {
  const secretName = `e2e-js/${RUN}/ref/db`;
  const REF = `/aws/reference/secretsmanager/${secretName}`;
  const first = JSON.stringify({ user: 'app', password: `first-${randomUUID()}` });
  const second = JSON.stringify({ user: 'app', password: `second-${randomUUID()}` });
  let created;

  before(async () => {
    created = await sm.send(new CreateSecretCommand({ Name: secretName, SecretString: first }));
    await sm.send(new PutSecretValueCommand({ SecretId: secretName, SecretString: second }));
  });

  test('GetParameter WithDecryption=true returns the secret as a SecureString parameter', async () => {
    const p = await getParam(REF, true);
    assert.equal(p.Name, REF);
    assert.equal(p.Type, 'SecureString');
    assert.equal(p.Value, second);
    assert.equal(p.Version, 0);
    assert.equal(p.ARN, created.ARN, 'the ARN is the secret ARN');
    assert.equal(typeof p.SourceResult, 'string', 'SourceResult is the GetSecretValue JSON as a string');
    const source = JSON.parse(p.SourceResult);
    assert.equal(source.Name, secretName);
    assert.equal(source.ARN, created.ARN);
    assert.equal(source.SecretString, second);
    assertRecentDate(p.LastModifiedDate, 'reference LastModifiedDate');
  });

  test('a version stage or version id selects an older secret version', async () => {
    assert.equal((await getParam(`${REF}:AWSPREVIOUS`, true)).Value, first);
    assert.equal((await getParam(`${REF}:AWSCURRENT`, true)).Value, second);
    assert.equal((await getParam(`${REF}:${created.VersionId}`, true)).Value, first);
  });

  test('GetParameters mixes references and ordinary parameters', async () => {
    const plain = `${P}/ref/plain`;
    await put({ Name: plain, Value: 'ordinary', Type: 'String' });
    const out = await ssm.send(new GetParametersCommand({ Names: [REF, plain], WithDecryption: true }));
    const values = Object.fromEntries(out.Parameters.map((p) => [p.Name, p.Value]));
    assert.deepEqual(values, { [REF]: second, [plain]: 'ordinary' });
    assert.deepEqual(out.InvalidParameters ?? [], []);
  });

  test('without WithDecryption, or for a missing secret, the reference fails', async () => {
    await expectAwsError(getParam(REF, false), 'ValidationException');
    await expectAwsError(getParam(REF), 'ValidationException');
    await expectAwsError(
      getParam(`/aws/reference/secretsmanager/e2e-js/${RUN}/ref/missing`, true),
      'ParameterNotFound',
    );
  });

  test('PutParameter cannot write under /aws/', async () => {
    const err = await (async () => {
      try {
        await put({ Name: `${REF}-copy`, Value: 'x', Type: 'String' });
      } catch (e) {
        return e;
      }
      return null;
    })();
    assert.ok(err, 'PutParameter under /aws/reference succeeded');
    assert.ok(
      ['AccessDeniedException', 'ValidationException'].includes(err.name),
      `expected AccessDeniedException or ValidationException, got ${err.name}: ${err.message}`,
    );
  });
});

// ------------------------------------------------------------------ validation and error classes
describe('validation and error classes', () => {
  test('ParameterNotFound for a missing name', async () => {
    await expectAwsError(getParam(`${P}/errors/missing`), 'ParameterNotFound', { httpStatus: 400 });
  });

  test('HierarchyLevelLimitExceededException past 15 levels', async () => {
    // /h<run>/l2/l3/.../l<n>: n slash-separated levels, the last one being the name.
    const levels = (n) => [`/h${RUN}`, ...Array.from({ length: n - 1 }, (_, i) => `l${i + 2}`)].join('/');
    const fifteen = levels(15);
    const sixteen = levels(16);
    assert.equal(fifteen.split('/').length - 1, 15);
    assert.equal(sixteen.split('/').length - 1, 16);
    assert.equal((await put({ Name: fifteen, Value: 'deep', Type: 'String' })).Version, 1);
    await expectAwsError(
      put({ Name: sixteen, Value: 'too deep', Type: 'String' }),
      'HierarchyLevelLimitExceededException',
      { httpStatus: 400 },
    );
    await expectAwsError(getParam(sixteen), 'ParameterNotFound');
  });

  test('ValidationException for bad names, values and types', async () => {
    await expectAwsError(
      put({ Name: `${P}/errors/has space`, Value: 'v', Type: 'String' }),
      'ValidationException',
      { httpStatus: 400 },
    );
    await expectAwsError(put({ Name: `aws-${RUN}`, Value: 'v', Type: 'String' }), 'ValidationException');
    await expectAwsError(put({ Name: `SSM-${RUN}`, Value: 'v', Type: 'String' }), 'ValidationException');
    await expectAwsError(put({ Name: `${P}/errors/empty`, Value: '', Type: 'String' }), 'ValidationException');
    await expectAwsError(put({ Name: `${P}/errors/untyped`, Value: 'v' }), 'ValidationException');
    assert.equal(
      (await put({ Name: `${P}/errors/max`, Value: 'x'.repeat(4096), Type: 'String' })).Tier,
      'Standard',
    );
    await expectAwsError(
      put({ Name: `${P}/errors/too-big`, Value: 'x'.repeat(4097), Type: 'String' }),
      'ValidationException',
    );
    // Nothing was created; a name with an inner space is not even a valid name to look up
    // (ValidationException, as PutParameter's Name documentation says of such names).
    await expectAwsError(getParam(`${P}/errors/has space`), 'ValidationException');
    for (const n of ['empty', 'untyped', 'too-big']) {
      await expectAwsError(getParam(`${P}/errors/${n}`), 'ParameterNotFound');
    }
  });

  test('ParameterPatternMismatchException when the value misses AllowedPattern', async () => {
    const Name = `${P}/errors/port`;
    await expectAwsError(
      put({ Name, Value: 'eighty', Type: 'String', AllowedPattern: '^[0-9]+$' }),
      'ParameterPatternMismatchException',
      { httpStatus: 400 },
    );
    assert.equal((await put({ Name, Value: '8080', Type: 'String', AllowedPattern: '^[0-9]+$' })).Version, 1);
    // The pattern stays with the parameter on overwrite.
    await expectAwsError(put({ Name, Value: 'http', Overwrite: true }), 'ParameterPatternMismatchException');
    assert.equal((await put({ Name, Value: '8443', Overwrite: true })).Version, 2);
    const [meta] = await describeAll({ ParameterFilters: [{ Key: 'Name', Values: [Name] }] });
    assert.equal(meta.AllowedPattern, '^[0-9]+$');
  });

  test('SigV4 is checked for the ssm service', async () => {
    const bad = ssmClient(server, {
      credentials: staticCredentials(ACCESS_KEY_ID, 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYWRONGKEY00'),
      maxAttempts: 1,
    });
    extraClients.push(bad);
    await expectAwsError(
      bad.send(new GetParameterCommand({ Name: `${P}/basic/greeting` })),
      'InvalidSignatureException',
    );
    const unknown = ssmClient(server, {
      credentials: staticCredentials('AKIAI44QH8DHBEXAMPLE', 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'),
      maxAttempts: 1,
    });
    extraClients.push(unknown);
    await expectAwsError(
      unknown.send(new GetParameterCommand({ Name: `${P}/basic/greeting` })),
      'UnrecognizedClientException',
    );
  });
});
