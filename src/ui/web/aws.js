// A small client for the AWS wire APIs coffer speaks: sign with SigV4, POST to the page's own
// origin, turn error bodies into AwsError. Only read-only calls are offered, and none that
// returns a secret value.

import { signRequest } from './sigv4.js';

const JSON_10 = 'application/x-amz-json-1.0';
const JSON_11 = 'application/x-amz-json-1.1';
const FORM = 'application/x-www-form-urlencoded; charset=utf-8';
const MAX_PAGES = 10; // listing calls stop here: the dashboard needs an overview, not a dump

export class AwsError extends Error {
  constructor(code, message, status = 0) {
    super(message);
    this.name = 'AwsError';
    this.code = code;
    this.status = status;
  }

  get isAccessDenied() {
    return this.code === 'AccessDenied' || this.code === 'AccessDeniedException';
  }
}

// "Not authorized: ..." for a permission refusal, "Error: Code: message" for anything else.
export function describeError(error) {
  if (error instanceof AwsError) {
    if (error.isAccessDenied) return error.message ? `Not authorized: ${error.message}` : 'Not authorized';
    return error.message ? `Error: ${error.code}: ${error.message}` : `Error: ${error.code}`;
  }
  return `Error: ${error?.message ?? String(error)}`;
}

/**
 * Creates a client holding the credentials in this closure only (never in storage, cookies or
 * the URL), so forgetting the client forgets the keys.
 */
export function createClient(
  { accessKeyId, secretAccessKey, sessionToken = '', region },
  { endpoint = `${location.origin}/`, host = location.host } = {},
) {
  const credentials = Object.freeze({ accessKeyId, secretAccessKey, sessionToken });

  async function post(service, headers, body) {
    const signed = await signRequest({
      method: 'POST', host, path: '/', headers, body, credentials, region, service,
    });
    let response;
    try {
      response = await fetch(endpoint, {
        method: 'POST',
        headers: signed.headers,
        body,
        cache: 'no-store',
        credentials: 'omit', // the signature is the only authentication; send no cookies
        redirect: 'error', // a signed request must not be replayed somewhere else
        referrerPolicy: 'no-referrer',
      });
    } catch (err) {
      throw new AwsError('NetworkError', `The server could not be reached (${err.message}).`);
    }
    const text = await response.text();
    if (!response.ok) throw parseError(response, text);
    return text;
  }

  return {
    region,

    // The same keys signing for another region: the page's region filter.
    withRegion(other) {
      return createClient({ accessKeyId, secretAccessKey, sessionToken, region: other },
        { endpoint, host });
    },

    async json(service, target, contentType, input = {}) {
      const text = await post(service, { 'content-type': contentType, 'x-amz-target': target },
        JSON.stringify(input));
      if (!text) return {};
      try {
        return JSON.parse(text);
      } catch {
        throw new AwsError('InvalidResponse', 'The server sent a response that is not JSON.');
      }
    },

    async query(service, params) {
      const body = new URLSearchParams(params).toString();
      const text = await post(service, { 'content-type': FORM }, body);
      return parseXml(text);
    },
  };
}

function parseError(response, text) {
  const status = response.status;
  let code = '';
  let message = '';
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    try {
      const body = JSON.parse(trimmed);
      // "__type" is "Code" or "namespace#Code"; some services send "code" or "Code" instead.
      code = String(body.__type ?? body.code ?? body.Code ?? '');
      message = String(body.message ?? body.Message ?? '');
    } catch {
      // fall through to the status line
    }
  } else if (trimmed.startsWith('<')) {
    try {
      const doc = parseXml(trimmed);
      code = textOf(doc, 'Code');
      message = textOf(doc, 'Message');
    } catch {
      // fall through to the status line
    }
  }
  if (!code) code = response.headers.get('x-amzn-errortype') ?? '';
  code = code.split(':')[0]; // x-amzn-ErrorType may carry ":http://..." after the code
  if (code.includes('#')) code = code.slice(code.lastIndexOf('#') + 1);
  if (!code) code = `HTTP ${status}`;
  if (!message && !trimmed.startsWith('{') && !trimmed.startsWith('<')) message = trimmed.slice(0, 200);
  return new AwsError(code, message, status);
}

function parseXml(text) {
  const doc = new DOMParser().parseFromString(text, 'application/xml');
  if (doc.getElementsByTagName('parsererror').length) {
    throw new AwsError('InvalidResponse', 'The server sent a response that is not XML.');
  }
  return doc;
}

function textOf(doc, tag) {
  return doc.getElementsByTagName(tag)[0]?.textContent?.trim() ?? '';
}

// --- The calls the dashboard makes ---------------------------------------------------------

export async function getCallerIdentity(client) {
  const doc = await client.query('sts', { Action: 'GetCallerIdentity', Version: '2011-06-15' });
  return { arn: textOf(doc, 'Arn'), userId: textOf(doc, 'UserId'), account: textOf(doc, 'Account') };
}

export function getAccessSummary(client, { startTime, period }) {
  return client.json('cloudtrail', 'CofferInsights_20261207.GetAccessSummary', JSON_11,
    { StartTime: startTime, Period: period });
}

export async function describeAlarms(client) {
  const out = await client.json('monitoring', 'GraniteServiceVersion20100801.DescribeAlarms', JSON_10, {});
  return out.MetricAlarms ?? [];
}

export async function describeAlarmHistory(client) {
  const out = await client.json('monitoring', 'GraniteServiceVersion20100801.DescribeAlarmHistory',
    JSON_10, { HistoryItemType: 'StateUpdate', MaxRecords: 20 });
  return out.AlarmHistoryItems ?? [];
}

// Lists metadata only (names, dates, rotation settings); values are never requested.
export function listSecrets(client) {
  return paged((token) => client.json('secretsmanager', 'secretsmanager.ListSecrets', JSON_11,
    token ? { MaxResults: 100, NextToken: token } : { MaxResults: 100 }), 'SecretList');
}

export function describeParameters(client) {
  return paged((token) => client.json('ssm', 'AmazonSSM.DescribeParameters', JSON_11,
    token ? { MaxResults: 50, NextToken: token } : { MaxResults: 50 }), 'Parameters');
}

async function paged(fetchPage, key) {
  const items = [];
  let token;
  for (let page = 0; page < MAX_PAGES; page++) {
    const out = await fetchPage(token);
    items.push(...(out[key] ?? []));
    token = out.NextToken;
    if (!token) break;
  }
  return items;
}
