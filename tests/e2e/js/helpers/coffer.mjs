// Test harness for the coffer end-to-end tests: starts a real coffer server on a free
// loopback port with a fresh data directory, hands out AWS SDK v3 clients pointed at it,
// and makes sure every server it started is stopped, even when a test fails or the
// runner is interrupted.
//
// The binary is $COFFER_BIN, else <repo>/build/coffer. It must print
//   coffer: listening on http://127.0.0.1:<PORT>
// on stdout once it accepts connections, and exit 0 on SIGTERM.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { accessSync, constants as fsConstants, rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';

import { CloudTrailClient } from '@aws-sdk/client-cloudtrail';
import { KMSClient } from '@aws-sdk/client-kms';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SSMClient } from '@aws-sdk/client-ssm';
import { STSClient } from '@aws-sdk/client-sts';

// The SDK warns that releases after January 2027 need Node 22; this project pins its SDK
// version in package-lock.json, so the warning is noise in test output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

export const ACCESS_KEY_ID = 'AKIAIOSFODNN7EXAMPLE';
export const SECRET_ACCESS_KEY = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
export const REGION = 'us-east-1';
export const ACCOUNT_ID = '123456789012';

const HERE = path.dirname(fileURLToPath(import.meta.url));
// helpers -> js -> e2e -> tests -> repository root
export const REPO_ROOT = path.resolve(HERE, '..', '..', '..', '..');

const START_TIMEOUT_MS = Number(process.env.COFFER_E2E_START_TIMEOUT_MS ?? 30_000);
const STOP_TIMEOUT_MS = 15_000;
const LISTENING_LINE = /^coffer: listening on (http:\/\/(127(?:\.\d{1,3}){3}):(\d{1,5}))\s*$/;
const LOG_LIMIT = 64 * 1024;

/**
 * Every child still running, with the temp data dir to remove (or null); killed and cleaned up
 * synchronously if this process exits or is interrupted.
 */
const liveChildren = new Map();

function killAllSync() {
  for (const [child, tempDir] of liveChildren) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
    if (tempDir) rmSync(tempDir, { recursive: true, force: true });
  }
  liveChildren.clear();
}

process.on('exit', killAllSync);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(sig, () => {
    killAllSync();
    process.exit(128 + (os.constants.signals[sig] ?? 1));
  });
}

export function cofferBinary() {
  return process.env.COFFER_BIN || path.join(REPO_ROOT, 'build', 'coffer');
}

function appendBounded(prev, chunk) {
  const next = prev + chunk;
  return next.length > LOG_LIMIT ? next.slice(next.length - LOG_LIMIT) : next;
}

/**
 * Starts `coffer server` and resolves once it printed its listening line.
 * options.dataDir: use this directory (kept on stop); default: a fresh temp dir (removed on stop).
 * options.env: extra environment variables.
 */
export async function startCoffer(options = {}) {
  const bin = cofferBinary();
  try {
    accessSync(bin, fsConstants.X_OK);
  } catch {
    throw new Error(
      `coffer binary not found or not executable at ${bin}; build it first or set COFFER_BIN`,
    );
  }

  const ownsDataDir = !options.dataDir;
  const dataDir = options.dataDir ?? (await mkdtemp(path.join(os.tmpdir(), 'coffer-e2e-js-')));
  const args = [
    'server',
    '--listen',
    '127.0.0.1:0',
    '--data-dir',
    dataDir,
    '--account-id',
    ACCOUNT_ID,
    ...(options.args ?? []),
  ];
  const child = spawn(bin, args, {
    env: {
      ...process.env,
      ...options.env,
      COFFER_ROOT_ACCESS_KEY_ID: ACCESS_KEY_ID,
      COFFER_ROOT_SECRET_ACCESS_KEY: SECRET_ACCESS_KEY,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  liveChildren.set(child, ownsDataDir ? dataDir : null);

  let stdout = '';
  let stderr = '';
  let exitInfo = null;
  const exited = new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      exitInfo = { code, signal };
      liveChildren.delete(child);
      resolve(exitInfo);
    });
  });
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d) => {
    stderr = appendBounded(stderr, d);
  });
  child.stdout.setEncoding('utf8');

  const diagnostics = () =>
    `binary: ${bin}\nstdout (tail):\n${stdout.slice(-4000)}\nstderr (tail):\n${stderr.slice(-4000)}`;

  let endpoint;
  let port;
  try {
    ({ endpoint, port } = await new Promise((resolve, reject) => {
      let pending = '';
      let done = false;
      const timer = setTimeout(() => {
        finish(new Error(`coffer did not print its listening line within ${START_TIMEOUT_MS} ms`));
      }, START_TIMEOUT_MS);
      function finish(err, value) {
        if (done) return;
        done = true;
        clearTimeout(timer);
        if (err) reject(err);
        else resolve(value);
      }
      child.stdout.on('data', (d) => {
        stdout = appendBounded(stdout, d);
        if (done) return;
        pending += d;
        let nl;
        while ((nl = pending.indexOf('\n')) >= 0) {
          const line = pending.slice(0, nl).replace(/\r$/, '');
          pending = pending.slice(nl + 1);
          const m = LISTENING_LINE.exec(line);
          if (m) {
            finish(null, { endpoint: m[1], port: Number(m[3]) });
            return;
          }
        }
      });
      child.once('error', (err) => finish(new Error(`could not spawn coffer: ${err.message}`)));
      exited.then((info) =>
        finish(
          new Error(
            `coffer exited before listening (code ${info.code}, signal ${info.signal})`,
          ),
        ),
      );
    }));
  } catch (err) {
    child.kill('SIGKILL');
    await exited;
    if (ownsDataDir) await rm(dataDir, { recursive: true, force: true });
    err.message += `\n${diagnostics()}`;
    throw err;
  }

  // Loopback only, ever.
  assert.match(endpoint, /^http:\/\/127\./, `server must listen on loopback, got ${endpoint}`);
  assert.ok(port > 0 && port < 65536, `bad port ${port}`);

  let stopping = null;
  return {
    endpoint,
    port,
    pid: child.pid,
    dataDir,
    get stdout() {
      return stdout;
    },
    get stderr() {
      return stderr;
    },
    get exitInfo() {
      return exitInfo;
    },
    diagnostics,
    /** SIGTERM, wait (SIGKILL after a timeout); resolves to {code, signal, killed}. */
    stop() {
      stopping ??= (async () => {
        let killed = false;
        if (!exitInfo) {
          child.kill('SIGTERM');
          const timeout = new Promise((resolve) => {
            const t = setTimeout(() => resolve('timeout'), STOP_TIMEOUT_MS);
            exited.then(() => clearTimeout(t));
          });
          if ((await Promise.race([exited, timeout])) === 'timeout') {
            killed = true;
            child.kill('SIGKILL');
          }
        }
        const info = await exited;
        if (ownsDataDir) await rm(dataDir, { recursive: true, force: true });
        return { ...info, killed };
      })();
      return stopping;
    },
  };
}

const staticCredentials = (accessKeyId = ACCESS_KEY_ID, secretAccessKey = SECRET_ACCESS_KEY) => ({
  accessKeyId,
  secretAccessKey,
});

/** A Secrets Manager client for `server`; `overrides` go into the client config. */
export function smClient(server, overrides = {}) {
  return new SecretsManagerClient({
    endpoint: server.endpoint,
    region: REGION,
    credentials: staticCredentials(),
    ...overrides,
  });
}

/** An SSM (Parameter Store) client for `server`; `overrides` go into the client config. */
export function ssmClient(server, overrides = {}) {
  return new SSMClient({
    endpoint: server.endpoint,
    region: REGION,
    credentials: staticCredentials(),
    ...overrides,
  });
}

/** A KMS client for `server`; `overrides` go into the client config. */
export function kmsClient(server, overrides = {}) {
  return new KMSClient({
    endpoint: server.endpoint,
    region: REGION,
    credentials: staticCredentials(),
    ...overrides,
  });
}

/** An STS client for `server`; `overrides` go into the client config. */
export function stsClient(server, overrides = {}) {
  return new STSClient({
    endpoint: server.endpoint,
    region: REGION,
    credentials: staticCredentials(),
    ...overrides,
  });
}

/** A CloudTrail client (LookupEvents) for `server`; `overrides` go into the client config. */
export function cloudTrailClient(server, overrides = {}) {
  return new CloudTrailClient({
    endpoint: server.endpoint,
    region: REGION,
    credentials: staticCredentials(),
    ...overrides,
  });
}

export { staticCredentials };

/**
 * Awaits `promise`, asserts it rejected with an error whose `name` is `name`,
 * optionally checks the HTTP status and the message, and returns the error.
 */
export async function expectAwsError(promise, name, { httpStatus, message } = {}) {
  let error;
  let result;
  try {
    result = await promise;
  } catch (e) {
    error = e;
  }
  assert.ok(error, `expected ${name}, but the call succeeded: ${JSON.stringify(result)}`);
  assert.equal(error.name, name, `expected ${name}, got ${error.name}: ${error.message}`);
  if (httpStatus !== undefined) {
    assert.equal(error.$metadata?.httpStatusCode, httpStatus, `HTTP status of ${name}`);
  }
  if (message instanceof RegExp) {
    assert.match(error.message, message);
  } else if (message !== undefined) {
    assert.equal(error.message, message);
  }
  return error;
}

/** A fresh secret name under `prefix` (never ends in "-" + 6 chars, see AWS SM docs). */
export function uniqueName(prefix) {
  return `e2e/${prefix}/${randomUUID().slice(0, 8)}`;
}

export function escapeRegExp(s) {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/** Full secret ARN: arn:aws:secretsmanager:<region>:<account>:secret:<name>-<6 chars>. */
export function secretArnPattern(name) {
  return new RegExp(
    `^arn:aws:secretsmanager:${REGION}:${ACCOUNT_ID}:secret:${escapeRegExp(name)}-[A-Za-z0-9]{6}$`,
  );
}

/** Asserts `d` is a valid Date within `slackMs` of now. */
export function assertRecentDate(d, what, slackMs = 5 * 60_000) {
  assert.ok(d instanceof Date, `${what} should be a Date, got ${typeof d}: ${d}`);
  assert.ok(!Number.isNaN(d.getTime()), `${what} is an invalid Date`);
  assert.ok(
    Math.abs(d.getTime() - Date.now()) <= slackMs,
    `${what} ${d.toISOString()} is not within ${slackMs} ms of now`,
  );
}

/** Normalises a VersionIdsToStages-like map: stage lists sorted, for deepEqual. */
export function sortedStages(map) {
  const out = {};
  for (const [k, v] of Object.entries(map ?? {})) out[k] = [...v].sort();
  return out;
}

/**
 * Records the raw HTTP responses `client` receives (status, headers, body text) without
 * disturbing the SDK: the body is buffered and handed on as a fresh stream.
 */
export function captureRawResponses(client) {
  const captured = [];
  client.middlewareStack.add(
    (next) => async (args) => {
      const out = await next(args);
      const res = out.response;
      if (res?.body && typeof res.body[Symbol.asyncIterator] === 'function') {
        const chunks = [];
        for await (const c of res.body) chunks.push(Buffer.from(c));
        const buf = Buffer.concat(chunks);
        captured.push({ status: res.statusCode, headers: res.headers, text: buf.toString('utf8') });
        res.body = Readable.from([buf]);
      }
      return out;
    },
    { step: 'deserialize', priority: 'low', name: 'cofferRawResponseCapture' },
  );
  return captured;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
