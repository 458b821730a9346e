// AWS Signature Version 4 (header form) on WebCrypto.
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html
//
// Everything here is asynchronous because crypto.subtle is; nothing is cached, so no key
// material outlives the call that used it.

const ALGORITHM = 'AWS4-HMAC-SHA256';
const encoder = new TextEncoder();

function subtle() {
  // Browsers expose crypto.subtle only in secure contexts (HTTPS, loopback); the page checks
  // this before offering sign-in, but a clear error beats a TypeError if it is ever missed.
  const s = globalThis.crypto?.subtle;
  if (!s) throw new Error('WebCrypto (crypto.subtle) is not available in this context.');
  return s;
}

function toBytes(data) {
  if (typeof data === 'string') return encoder.encode(data);
  if (data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  throw new TypeError('Expected a string, Uint8Array or ArrayBuffer.');
}

export function toHex(bytes) {
  const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  let out = '';
  for (const b of view) out += b.toString(16).padStart(2, '0');
  return out;
}

export async function sha256Hex(data) {
  return toHex(await subtle().digest('SHA-256', toBytes(data)));
}

export async function hmacSha256(key, data) {
  const cryptoKey = await subtle().importKey(
    'raw', toBytes(key), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  return new Uint8Array(await subtle().sign('HMAC', cryptoKey, toBytes(data)));
}

// kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request")
export async function signingKey(secretAccessKey, date, region, service) {
  const kDate = await hmacSha256('AWS4' + secretAccessKey, date);
  const kRegion = await hmacSha256(kDate, region);
  const kService = await hmacSha256(kRegion, service);
  return hmacSha256(kService, 'aws4_request');
}

// 20150830T123600Z: ISO 8601 basic format, UTC, whole seconds.
export function amzDate(date = new Date()) {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:]/g, '');
}

// RFC 3986 encoding as SigV4 wants it: everything but unreserved characters is %XX-encoded.
// encodeURIComponent leaves !'()* alone, so those are encoded by hand.
export function uriEncode(text, keepSlash = false) {
  const encoded = encodeURIComponent(text).replace(
    /[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
  return keepSlash ? encoded.replace(/%2F/g, '/') : encoded;
}

export function canonicalUri(path) {
  if (!path) return '/';
  // Each segment is decoded then re-encoded, so a path given already encoded is not encoded
  // twice (the dashboard only ever posts to "/", but the signer should not be surprising).
  return path.split('/').map((segment) => uriEncode(safeDecode(segment))).join('/');
}

export function canonicalQuery(query) {
  if (!query) return '';
  const pairs = query.replace(/^\?/, '').split('&').filter(Boolean).map((part) => {
    const eq = part.indexOf('=');
    const key = eq < 0 ? part : part.slice(0, eq);
    const value = eq < 0 ? '' : part.slice(eq + 1);
    return [uriEncode(safeDecode(key)), uriEncode(safeDecode(value))];
  });
  // Sorted by encoded name, then by encoded value (code-point order, as AWS does).
  pairs.sort(([ak, av], [bk, bv]) => (ak < bk ? -1 : ak > bk ? 1 : av < bv ? -1 : av > bv ? 1 : 0));
  return pairs.map(([k, v]) => `${k}=${v}`).join('&');
}

function safeDecode(text) {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

// Header values are trimmed and inner runs of whitespace collapse to one space.
function canonicalValue(value) {
  return String(value).trim().replace(/\s+/g, ' ');
}

/**
 * Signs a request and returns the headers to send with it.
 *
 * Every header given is signed, plus host, x-amz-date and (with a session token)
 * x-amz-security-token. The returned `headers` omit host: a browser sets Host itself and
 * refuses to let scripts set it, but the value signed must be what the browser will send
 * (location.host for a same-origin request).
 *
 * @param {object} request
 * @param {string} request.method
 * @param {string} request.host
 * @param {string} [request.path]  defaults to "/"
 * @param {string} [request.query] raw query string without "?"
 * @param {Record<string,string>} [request.headers]
 * @param {string|Uint8Array} [request.body]
 * @param {{accessKeyId: string, secretAccessKey: string, sessionToken?: string}} request.credentials
 * @param {string} request.region
 * @param {string} request.service
 * @param {string} [request.amzDate]  fixed time for tests; defaults to now
 */
export async function signRequest({
  method, host, path = '/', query = '', headers = {}, body = '',
  credentials, region, service, amzDate: fixedDate,
}) {
  const xAmzDate = fixedDate ?? amzDate();
  const date = xAmzDate.slice(0, 8);

  const toSign = new Map();
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && value !== null) toSign.set(name.toLowerCase(), canonicalValue(value));
  }
  toSign.set('host', canonicalValue(host));
  toSign.set('x-amz-date', xAmzDate);
  if (credentials.sessionToken) toSign.set('x-amz-security-token', canonicalValue(credentials.sessionToken));

  const names = [...toSign.keys()].sort();
  const signedHeaders = names.join(';');
  const canonicalHeaders = names.map((n) => `${n}:${toSign.get(n)}\n`).join('');
  const payloadHash = await sha256Hex(body);

  const canonicalRequest = [
    method.toUpperCase(),
    canonicalUri(path),
    canonicalQuery(query),
    canonicalHeaders,
    signedHeaders,
    payloadHash,
  ].join('\n');

  const scope = `${date}/${region}/${service}/aws4_request`;
  const stringToSign = [ALGORITHM, xAmzDate, scope, await sha256Hex(canonicalRequest)].join('\n');
  const key = await signingKey(credentials.secretAccessKey, date, region, service);
  const signature = toHex(await hmacSha256(key, stringToSign));
  const authorization =
    `${ALGORITHM} Credential=${credentials.accessKeyId}/${scope}, ` +
    `SignedHeaders=${signedHeaders}, Signature=${signature}`;

  const out = {};
  for (const n of names) if (n !== 'host') out[n] = toSign.get(n);
  out.authorization = authorization;
  return { headers: out, authorization, signature, canonicalRequest, stringToSign };
}
