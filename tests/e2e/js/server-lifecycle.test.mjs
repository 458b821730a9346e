// The server process itself: the /health endpoint, clean exit on SIGTERM, and secrets
// surviving a restart on the same data directory.

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';

import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
} from '@aws-sdk/client-secrets-manager';

import { smClient, startCoffer, uniqueName } from './helpers/coffer.mjs';

const cleanups = [];
after(async () => {
  for (const fn of cleanups.reverse()) await fn();
});

test('GET /health answers 200 with a JSON body', async () => {
  const server = await startCoffer();
  cleanups.push(() => server.stop());
  const res = await fetch(`${server.endpoint}/health`);
  const text = await res.text();
  assert.equal(res.status, 200, text);
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
  const body = JSON.parse(text);
  assert.equal(typeof body, 'object');
  assert.notEqual(body, null);
});

test('SIGTERM stops the server with exit code 0', async () => {
  const server = await startCoffer();
  cleanups.push(() => server.stop());
  const info = await server.stop();
  assert.equal(info.killed, false, 'server ignored SIGTERM and had to be killed');
  assert.equal(info.signal, null);
  assert.equal(info.code, 0, `exit code on SIGTERM, stderr:\n${server.stderr}`);
  await assert.rejects(fetch(`${server.endpoint}/health`), 'the port should be closed');
});

test('secrets survive a restart on the same data directory', async () => {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'coffer-e2e-js-restart-'));
  cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
  const name = uniqueName('restart/persisted');
  const value = JSON.stringify({ survives: 'restart', n: 42 });

  const first = await startCoffer({ dataDir });
  cleanups.push(() => first.stop());
  const sm1 = smClient(first);
  const created = await sm1.send(
    new CreateSecretCommand({ Name: name, SecretString: value, Description: 'durable' }),
  );
  sm1.destroy();
  assert.equal((await first.stop()).code, 0);

  const second = await startCoffer({ dataDir });
  cleanups.push(() => second.stop());
  const sm2 = smClient(second);
  try {
    const got = await sm2.send(new GetSecretValueCommand({ SecretId: name }));
    assert.equal(got.SecretString, value);
    assert.equal(got.ARN, created.ARN);
    assert.equal(got.VersionId, created.VersionId);
    const d = await sm2.send(new DescribeSecretCommand({ SecretId: created.ARN }));
    assert.equal(d.Description, 'durable');
  } finally {
    sm2.destroy();
  }
  assert.equal((await second.stop()).code, 0);
});
