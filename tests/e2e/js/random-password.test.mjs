// GetRandomPassword through the AWS SDK for JavaScript v3: length, character classes,
// exclusions, RequireEachIncludedType, and the length limits.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { GetRandomPasswordCommand } from '@aws-sdk/client-secrets-manager';

import { expectAwsError, smClient, startCoffer } from './helpers/coffer.mjs';

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

const password = async (input = {}) =>
  (await sm.send(new GetRandomPasswordCommand(input))).RandomPassword;

describe('GetRandomPassword', () => {
  test('defaults to 32 printable characters without spaces, different every call', async () => {
    const a = await password();
    const b = await password();
    // Letters, digits and !"#$%&'()*+,-./:;<=>?@[\]^_`{|}~ are exactly ASCII 0x21..0x7e.
    assert.match(a, /^[\x21-\x7e]{32}$/);
    assert.match(b, /^[\x21-\x7e]{32}$/);
    assert.notEqual(a, b);
  });

  test('PasswordLength sets the length, from 1 to 4096', async () => {
    // By default a password holds every included class, so 1 character needs the switch off.
    assert.equal((await password({ PasswordLength: 1, RequireEachIncludedType: false })).length, 1);
    assert.equal((await password({ PasswordLength: 64 })).length, 64);
    assert.equal((await password({ PasswordLength: 4096 })).length, 4096);
  });

  test('Exclude* switches remove character classes', async () => {
    assert.match(await password({ PasswordLength: 40, ExcludePunctuation: true }), /^[A-Za-z0-9]{40}$/);
    assert.match(
      await password({
        PasswordLength: 40,
        ExcludeNumbers: true,
        ExcludePunctuation: true,
        ExcludeUppercase: true,
      }),
      /^[a-z]{40}$/,
    );
    assert.match(
      await password({ PasswordLength: 40, ExcludeLowercase: true, ExcludeUppercase: true }),
      /^[0-9!-/:-@[-`{-~]{40}$/,
    );
  });

  test('ExcludeCharacters removes exactly those characters', async () => {
    const letters = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';
    assert.match(
      await password({ PasswordLength: 50, ExcludePunctuation: true, ExcludeCharacters: letters }),
      /^[0-9]{50}$/,
    );
    const pw = await password({ PasswordLength: 500, ExcludeCharacters: '"@/\\\' ' });
    assert.equal(pw.length, 500);
    for (const c of '"@/\\\' ') assert.ok(!pw.includes(c), `excluded ${JSON.stringify(c)} present`);
  });

  test('IncludeSpace adds the space character', async () => {
    const pw = await password({
      PasswordLength: 300,
      IncludeSpace: true,
      ExcludeLowercase: true,
      ExcludeUppercase: true,
      ExcludePunctuation: true,
    });
    assert.match(pw, /^[0-9 ]{300}$/);
    // (10/11)^300 < 1e-12: a space must show up.
    assert.ok(pw.includes(' '), 'no space in 300 characters drawn from 11');
  });

  test('RequireEachIncludedType puts every included class in even a 4-character password', async () => {
    for (let i = 0; i < 25; i += 1) {
      const pw = await password({ PasswordLength: 4, RequireEachIncludedType: true });
      assert.equal(pw.length, 4);
      assert.match(pw, /[a-z]/, pw);
      assert.match(pw, /[A-Z]/, pw);
      assert.match(pw, /[0-9]/, pw);
      assert.match(pw, /[!-/:-@[-`{-~]/, pw);
    }
  });

  test('a length too short for the required classes is InvalidParameterException', async () => {
    await expectAwsError(
      sm.send(new GetRandomPasswordCommand({ PasswordLength: 3, RequireEachIncludedType: true })),
      'InvalidParameterException',
      { httpStatus: 400 },
    );
  });

  test('PasswordLength above 4096 is ValidationException', async () => {
    await expectAwsError(
      sm.send(new GetRandomPasswordCommand({ PasswordLength: 4097 })),
      'ValidationException',
      { httpStatus: 400 },
    );
  });
});
