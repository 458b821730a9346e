// Checks the dashboard's SigV4 signer against AWS's published examples and against
// signatures computed independently in Python. Run with: node --test src/ui/web/
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { amzDate, canonicalQuery, signRequest, signingKey, toHex, uriEncode } from './sigv4.js';

const SECRET = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY';
const CREDENTIALS = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: SECRET };
const DATE = '20150830T123600Z';

// "get-vanilla" from AWS's aws-sig-v4-test-suite: GET / with only Host and X-Amz-Date.
test('get-vanilla from the AWS SigV4 test suite', async () => {
  const signed = await signRequest({
    method: 'GET',
    host: 'example.amazonaws.com',
    path: '/',
    credentials: CREDENTIALS,
    region: 'us-east-1',
    service: 'service',
    amzDate: DATE,
  });
  assert.equal(
    signed.canonicalRequest,
    'GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n' +
      'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  assert.equal(
    signed.stringToSign,
    'AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n' +
      'bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63');
  assert.equal(signed.signature, '5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31');
  assert.equal(
    signed.authorization,
    'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, ' +
      'SignedHeaders=host;x-amz-date, ' +
      'Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31');
  // Host is signed but never returned: the browser sets it and forbids scripts to.
  assert.deepEqual(Object.keys(signed.headers).sort(), ['authorization', 'x-amz-date']);
});

// The signing-key example from AWS's "Examples of how to derive a signing key".
test('derived signing key matches the AWS documentation example', async () => {
  const key = await signingKey(SECRET, '20120215', 'us-east-1', 'iam');
  assert.equal(toHex(key), 'f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d');
});

// The expected values of the two POST cases below were computed once with Python's hmac and
// hashlib, from the SigV4 definition and not from this code:
//
//   def h(k, m): return hmac.new(k, m.encode(), hashlib.sha256).digest()
//   names = sorted(headers)   # lowercase names: host, x-amz-date, content-type, ...
//   creq = "\n".join([method, "/", "", "".join(f"{n}:{headers[n]}\n" for n in names),
//                     ";".join(names), hashlib.sha256(body.encode()).hexdigest()])
//   scope = f"{amz[:8]}/{region}/{service}/aws4_request"
//   sts = "\n".join(["AWS4-HMAC-SHA256", amz, scope, hashlib.sha256(creq.encode()).hexdigest()])
//   k = h(h(h(h(("AWS4" + secret).encode(), amz[:8]), region), service), "aws4_request")
//   hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()
test('POST with a JSON body, X-Amz-Target and a session token', async () => {
  const signed = await signRequest({
    method: 'POST',
    host: '127.0.0.1:8443',
    headers: {
      'Content-Type': 'application/x-amz-json-1.1',
      'X-Amz-Target': 'secretsmanager.ListSecrets',
    },
    body: '{"MaxResults":100}',
    credentials: { ...CREDENTIALS, sessionToken: 'FQoGZXIvYXdzEXAMPLETOKEN//+==' },
    region: 'eu-west-1',
    service: 'secretsmanager',
    amzDate: DATE,
  });
  assert.equal(signed.signature, '4a8ed7e7cbdb7fd07e304a75ff283f1dde4818c4bae1ef97b982042afd1a8530');
  assert.match(
    signed.authorization,
    /SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-amz-target, /);
  assert.deepEqual(signed.headers, {
    'content-type': 'application/x-amz-json-1.1',
    'x-amz-date': DATE,
    'x-amz-security-token': 'FQoGZXIvYXdzEXAMPLETOKEN//+==',
    'x-amz-target': 'secretsmanager.ListSecrets',
    authorization: signed.authorization,
  });
});

test('POST with a form body (STS query protocol)', async () => {
  const signed = await signRequest({
    method: 'POST',
    host: 'localhost:8080',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded; charset=utf-8' },
    body: 'Action=GetCallerIdentity&Version=2011-06-15',
    credentials: CREDENTIALS,
    region: 'us-east-1',
    service: 'sts',
    amzDate: DATE,
  });
  assert.equal(signed.signature, '53bcc24522cadbc59b5141074a7facfa991d42c59b03ee41889b7924b26af0de');
  assert.ok(!('x-amz-security-token' in signed.headers));
});

test('the body is part of the signature', async () => {
  const base = {
    method: 'POST', host: 'localhost', headers: { 'content-type': 'application/x-amz-json-1.1' },
    credentials: CREDENTIALS, region: 'us-east-1', service: 'cloudtrail', amzDate: DATE,
  };
  const a = await signRequest({ ...base, body: '{"Period":60}' });
  const b = await signRequest({ ...base, body: '{"Period":300}' });
  assert.notEqual(a.signature, b.signature);
});

test('helpers: date format, RFC 3986 encoding, query order', () => {
  assert.equal(amzDate(new Date(Date.UTC(2015, 7, 30, 12, 36, 0, 789))), '20150830T123600Z');
  assert.equal(uriEncode("a b!'()*~._-/"), "a%20b%21%27%28%29%2A~._-%2F");
  assert.equal(uriEncode('a/b c', true), 'a/b%20c');
  assert.equal(canonicalQuery('b=2&a=2&a=1&c'), 'a=1&a=2&b=2&c=');
});
