// A real OpenID Connect provider for innerspace's tests: oidc-provider (a certified OpenID
// provider) configured for what innerspace's auth needs - the device authorization grant for
// the CLI, client credentials for services, authorization code + PKCE for a web portal, JWT
// access tokens for an audience (RS256, or ES256), opaque tokens with introspection and
// revocation - plus login pages simple enough to drive over HTTP without a browser, and
// test-only admin routes (key rotation, a skewed clock for the JWTs it issues).
//
// tests/support/oidc_provider.py starts it; by hand:
//
//   npm ci && OIDC_TEST_ADMIN_SECRET=s3cret node provider.mjs --port 9000 --audience innerspace
//
// Options (all optional):
//   --host H                  address to listen on (127.0.0.1)
//   --port N                  port; 0 (the default) takes a free one, see --ready-file; the
//                             issuer is http://HOST:PORT (plain http is fine on loopback)
//   --audience NAME[=ALG]     a resource server whose access tokens are JWTs with aud=NAME,
//                             signed with ALG (RS256 or ES256); repeatable, the first is the
//                             default of every client; default: innerspace
//   --accounts FILE           users and service clients (JSON, see DEFAULT_ACCOUNTS below)
//   --redirect-uri URI        a redirect URI of the portal client; repeatable (also the
//                             space-separated OIDC_PORTAL_REDIRECT_URIS)
//   --portal-secret S         the portal client's secret (portal-secret)
//   --access-token-ttl S      lifetime of access tokens in seconds (300)
//   --refresh-token-ttl S     lifetime of refresh tokens (3600)
//   --id-token-ttl S          lifetime of ID tokens (300)
//   --device-code-ttl S       lifetime of device codes (300)
//   --device-poll-interval S  the `interval` the device authorization response tells clients (5)
//   --ready-file PATH         written (atomically) as {"issuer", "port", "audiences"} once
//                             listening
//
// The environment variable OIDC_TEST_ADMIN_SECRET enables the admin routes under /_test/
// (Authorization: Bearer SECRET); it is read from the environment so that it never shows in a
// process listing. Without it those routes answer 404.
//
// Resource indicators (RFC 8707) must be absolute URIs, and innerspace's audience is a plain
// name: the indicator of audience NAME is NAME itself when NAME is an absolute URI, else
// "urn:NAME" (the ready file lists them). Clients that send no `resource` get the first
// audience. A resource server knows one scope, `api`, for clients that want to ask for one.
//
// Written for node 20 and later, as an ES module; its only dependency is oidc-provider 9.

import * as crypto from 'node:crypto';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';

import Provider, { errors } from 'oidc-provider';

// -- options --------------------------------------------------------------------------------

const { values: options } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '0' },
    audience: { type: 'string', multiple: true },
    accounts: { type: 'string' },
    'redirect-uri': { type: 'string', multiple: true },
    'portal-secret': { type: 'string', default: 'portal-secret' },
    'access-token-ttl': { type: 'string', default: '300' },
    'refresh-token-ttl': { type: 'string', default: '3600' },
    'id-token-ttl': { type: 'string', default: '300' },
    'device-code-ttl': { type: 'string', default: '300' },
    'device-poll-interval': { type: 'string', default: '5' },
    'ready-file': { type: 'string' },
  },
  strict: true,
});

function seconds(name) {
  const value = Number(options[name]);
  if (!Number.isInteger(value) || value < 0) {
    throw new Error(`--${name} must be a whole number of seconds, not ${options[name]}`);
  }
  return value;
}

const SIGNING_ALGS = new Set(['RS256', 'ES256']);

// NAME[=ALG] -> { audience, indicator, alg }
function parseAudience(spec) {
  const [audience, alg = 'RS256'] = spec.split('=');
  if (!audience || !SIGNING_ALGS.has(alg)) {
    throw new Error(`--audience ${spec}: expected NAME or NAME=RS256|ES256`);
  }
  const indicator = URL.canParse(audience) ? audience : `urn:${audience}`;
  return { audience, indicator, alg };
}

const AUDIENCES = (options.audience ?? ['innerspace']).map(parseAudience);
const RESOURCES = new Map(AUDIENCES.map((entry) => [entry.indicator, entry]));

const TTL = {
  accessToken: seconds('access-token-ttl'),
  refreshToken: seconds('refresh-token-ttl'),
  idToken: seconds('id-token-ttl'),
  deviceCode: seconds('device-code-ttl'),
};
const DEVICE_POLL_INTERVAL = seconds('device-poll-interval');

const REDIRECT_URIS = [
  ...(options['redirect-uri'] ?? []),
  ...(process.env.OIDC_PORTAL_REDIRECT_URIS ?? '').split(/\s+/).filter(Boolean),
];

const ADMIN_SECRET = process.env.OIDC_TEST_ADMIN_SECRET || undefined;

// -- accounts: who can log in, and which services hold client credentials ------------------

// Users log in with a password on the interaction pages; services are confidential clients
// of the client-credentials grant (`opaque`: their access tokens are opaque, for
// introspection). `groups` goes into every access token of the user or service.
const DEFAULT_ACCOUNTS = {
  users: {
    alice: { password: 'alice-password', groups: ['astro'], name: 'Alice' },
    bob: { password: 'bob-password', groups: ['astro'], name: 'Bob' },
    root: { password: 'root-password', groups: ['innerspace-admins'], name: 'Root' },
  },
  services: {
    'innerspace-service': { secret: 'service-secret', groups: ['innerspace-services'] },
    'innerspace-opaque': { secret: 'opaque-secret', groups: ['innerspace-services'], opaque: true },
  },
};

function loadAccounts(path) {
  if (!path) return DEFAULT_ACCOUNTS;
  const loaded = JSON.parse(readFileSync(path, 'utf8'));
  return { users: loaded.users ?? {}, services: loaded.services ?? {} };
}

const ACCOUNTS = loadAccounts(options.accounts);

// -- signing keys ---------------------------------------------------------------------------

// One RSA and one EC P-256 key make a generation; the newest generation signs, older ones
// stay published (so tokens they signed still verify) until rotated out.
let generation = 0;

function newKeyGeneration() {
  generation += 1;
  const stamp = `${generation}-${crypto.randomBytes(4).toString('hex')}`;
  const rsa = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  const ec = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  return [
    { ...rsa.export({ format: 'jwk' }), kid: `rsa-${stamp}`, alg: 'RS256', use: 'sig' },
    { ...ec.export({ format: 'jwk' }), kid: `ec-${stamp}`, alg: 'ES256', use: 'sig' },
  ];
}

let keyGenerations = [newKeyGeneration()];

function currentKid(alg) {
  return keyGenerations[0].find((key) => key.alg === alg).kid;
}

// -- a skewed clock for the JWTs we issue ---------------------------------------------------

// Added to iat, nbf and exp of every JWT access token issued from now on, so that a test gets
// an already expired (or not yet valid) token at once instead of waiting. Only the tokens'
// claims move: the provider's own bookkeeping (sessions, refresh tokens, introspection of
// opaque tokens, cookies) keeps the real clock, so logins still work while it is set.
let tokenClockOffset = 0;

// -- storage shared by every Provider of this process ---------------------------------------

// oidc-provider's own in-memory adapter keeps one store per Provider, and a key rotation
// builds a new Provider (see main): this store outlives them, so sessions, grants, device
// codes and tokens carry over. Entries expire when the provider says; nothing is evicted
// early. The indexes are those the adapter interface looks things up by.
const STORE = new Map(); // key -> { value, expiresAt (ms) }
const GRANTABLE = new Set(['AccessToken', 'AuthorizationCode', 'RefreshToken', 'DeviceCode',
  'BackchannelAuthenticationRequest']);

function storeGet(key) {
  const entry = STORE.get(key);
  if (entry && entry.expiresAt <= Date.now()) STORE.delete(key);
  return entry && entry.expiresAt > Date.now() ? entry.value : undefined;
}

function storeSet(key, value, expiresIn) {
  const expiresAt = typeof expiresIn === 'number' ? Date.now() + expiresIn * 1000 : Infinity;
  STORE.set(key, { value, expiresAt });
}

class SharedMemoryAdapter {
  constructor(model) {
    this.model = model;
  }

  key(id) {
    return `${this.model}:${id}`;
  }

  async upsert(id, payload, expiresIn) {
    storeSet(this.key(id), payload, expiresIn);
    if (this.model === 'Session') storeSet(`sessionUid:${payload.uid}`, id, expiresIn);
    if (payload.userCode) storeSet(`userCode:${payload.userCode}`, id, expiresIn);
    if (GRANTABLE.has(this.model) && payload.grantId) {
      const members = storeGet(`grant:${payload.grantId}`) ?? new Set();
      members.add(this.key(id));
      storeSet(`grant:${payload.grantId}`, members);
    }
  }

  async find(id) {
    return storeGet(this.key(id));
  }

  async findByUid(uid) {
    return this.find(storeGet(`sessionUid:${uid}`));
  }

  async findByUserCode(userCode) {
    return this.find(storeGet(`userCode:${userCode}`));
  }

  async consume(id) {
    const payload = storeGet(this.key(id));
    if (payload) payload.consumed = Math.floor(Date.now() / 1000);
  }

  async destroy(id) {
    STORE.delete(this.key(id));
  }

  async revokeByGrantId(grantId) {
    for (const key of storeGet(`grant:${grantId}`) ?? []) STORE.delete(key);
    STORE.delete(`grant:${grantId}`);
  }
}

// -- pages: plain HTML forms, easy to drive with an HTTP client -----------------------------

function escapeHtml(value) {
  return String(value).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(title, body) {
  return `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>
<body><h1>${escapeHtml(title)}</h1>
${body}
</body></html>`;
}

function loginForm(uid, clientId, error) {
  const message = error ? `<p id="error">${escapeHtml(error)}</p>` : '';
  return page('Sign in', `${message}
<p>Sign in to ${escapeHtml(clientId)}.</p>
<form id="login" method="post" action="/interaction/${escapeHtml(uid)}/login">
<input type="text" name="username" autocomplete="username" autofocus>
<input type="password" name="password" autocomplete="current-password">
<button type="submit">Sign in</button>
</form>
<p><a href="/interaction/${escapeHtml(uid)}/abort">Cancel</a></p>`);
}

// -- the provider ---------------------------------------------------------------------------

function clients() {
  const services = Object.entries(ACCOUNTS.services).map(([clientId, service]) => ({
    client_id: clientId,
    client_secret: service.secret,
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
  }));
  return [
    {
      // The innerspace CLI: a public native client of the device grant.
      client_id: 'innerspace-cli',
      client_name: 'innerspace CLI',
      application_type: 'native',
      token_endpoint_auth_method: 'none',
      grant_types: ['urn:ietf:params:oauth:grant-type:device_code', 'refresh_token'],
      response_types: [],
      redirect_uris: [],
    },
    {
      // The web portal (later): authorization code with PKCE (required for every client).
      client_id: 'innerspace-portal',
      client_name: 'innerspace portal',
      client_secret: options['portal-secret'],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: REDIRECT_URIS,
    },
    ...services,
  ];
}

function groupsOf(token) {
  if (token.accountId) return ACCOUNTS.users[token.accountId]?.groups ?? [];
  return ACCOUNTS.services[token.clientId]?.groups ?? [];
}

function configuration() {
  return {
    adapter: SharedMemoryAdapter,
    clients: clients(),
    jwks: { keys: keyGenerations.flat() },
    // The same cookie keys for every Provider this process builds (a key rotation builds a
    // new one, see main), so that a login in progress survives a rotation.
    cookies: { keys: COOKIE_KEYS },
    async findAccount(ctx, sub) {
      const user = ACCOUNTS.users[sub];
      if (!user) return undefined;
      return {
        accountId: sub,
        async claims() {
          return {
            sub, name: user.name || sub, preferred_username: sub, groups: user.groups ?? [],
          };
        },
      };
    },
    claims: {
      openid: ['sub'],
      profile: ['name', 'preferred_username'],
      groups: ['groups'],
    },
    scopes: ['openid', 'offline_access', 'profile', 'groups'],
    pkce: { required: () => true },
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    // The harness opens the device verification page here (OIDCProvider.verification_uri).
    routes: { code_verification: '/device' },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      // Any confidential client (a resource server such as innerspace) may introspect any
      // token; public clients only their own. JWT access tokens are not introspectable
      // (oidc-provider answers unsupported_token_type): they are for local validation.
      introspection: {
        enabled: true,
        allowedPolicy: async (ctx, client, token) => client.clientAuthMethod !== 'none'
          || token.clientId === client.clientId,
      },
      // A client revokes its own tokens only.
      revocation: {
        enabled: true,
        allowedPolicy: async (ctx, client, token) => token.clientId === client.clientId,
      },
      deviceFlow: {
        enabled: true,
        userCodeInputSource: async (ctx, form, out, err) => {
          const message = err ? `<p id="error">${escapeHtml(err.message)}${
            err.userCode ? `: ${escapeHtml(err.userCode)}` : ''}</p>` : '';
          ctx.body = page('Device sign in', `${message}${form}
<button type="submit" form="op.deviceInputForm">Continue</button>`);
        },
        userCodeConfirmSource: async (ctx, form, client, deviceInfo, userCode) => {
          ctx.body = page('Confirm device', `<p>Sign in ${escapeHtml(client.clientId)} with code
<code id="user-code">${escapeHtml(userCode)}</code>?</p>${form}
<button type="submit" form="op.deviceConfirmForm">Continue</button>`);
        },
        successSource: async (ctx) => {
          ctx.body = page('Device signed in',
            '<p id="device-success">You can close this page.</p>');
        },
      },
      resourceIndicators: {
        enabled: true,
        defaultResource: async (ctx, client, oneOf) => oneOf ?? AUDIENCES[0].indicator,
        // Tokens of a grant that asked for openid as well are still for the resource.
        useGrantedResource: async () => true,
        getResourceServerInfo: async (ctx, indicator, client) => {
          const resource = RESOURCES.get(indicator);
          if (!resource) throw new errors.InvalidTarget(`unknown resource indicator ${indicator}`);
          const opaque = ACCOUNTS.services[client?.clientId]?.opaque === true;
          return {
            audience: resource.audience,
            scope: 'api',
            accessTokenTTL: TTL.accessToken,
            accessTokenFormat: opaque ? 'opaque' : 'jwt',
            ...(opaque ? {} : {
              jwt: { sign: { alg: resource.alg, kid: currentKid(resource.alg) } },
            }),
          };
        },
      },
    },
    extraTokenClaims: async (ctx, token) => ({ groups: groupsOf(token) }),
    formats: {
      customizers: {
        jwt: async (ctx, token, jwt) => {
          const { payload } = jwt;
          payload.nbf = payload.iat;
          for (const claim of ['iat', 'nbf', 'exp']) payload[claim] += tokenClockOffset;
        },
      },
    },
    ttl: {
      AccessToken: TTL.accessToken,
      ClientCredentials: TTL.accessToken,
      RefreshToken: TTL.refreshToken,
      IdToken: TTL.idToken,
      DeviceCode: TTL.deviceCode,
      Interaction: 600,
      Session: 3600,
      Grant: TTL.refreshToken,
    },
    renderError: async (ctx, out) => {
      ctx.type = 'html';
      ctx.body = page('Error', Object.entries(out).map(
        ([key, value]) => `<p class="${escapeHtml(key)}">${escapeHtml(value)}</p>`).join('\n'));
    },
  };
}

const COOKIE_KEYS = [crypto.randomBytes(32).toString('base64url')];

function buildProvider(issuer) {
  const provider = new Provider(issuer, configuration());
  // oidc-provider leaves out `interval`, so RFC 8628 clients poll every 5 s; tests set less.
  provider.on('device_authorization.success', (ctx, body) => {
    body.interval = DEVICE_POLL_INTERVAL;
  });
  provider.on('server_error', (ctx, error) => {
    console.error('server_error', ctx.method, ctx.path, error);
  });
  return provider;
}

// -- interactions: log in with a password, consent given at once ----------------------------

async function readBody(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

function send(res, status, body, type = 'text/html; charset=utf-8') {
  res.statusCode = status;
  res.setHeader('Content-Type', type);
  res.setHeader('Cache-Control', 'no-store');
  res.end(body);
}

// Grants whatever the client asked for: first-party clients need no consent screen.
async function consent(provider, req, res, details) {
  const { prompt, params, session, grantId } = details;
  const grant = grantId
    ? await provider.Grant.find(grantId)
    : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  const missing = prompt.details;
  if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
  if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) {
    grant.addResourceScope(indicator, scopes.join(' '));
  }
  const saved = await grant.save();
  const result = { consent: grantId ? {} : { grantId: saved } };
  await provider.interactionFinished(req, res, result, { mergeWithLastSubmission: true });
}

async function interaction(provider, req, res, uid, action) {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) return send(res, 400, page('Error', '<p>interaction mismatch</p>'));
  const { prompt, params } = details;
  if (action === 'abort') {
    return provider.interactionFinished(req, res, {
      error: 'access_denied', error_description: 'End-User aborted interaction',
    }, { mergeWithLastSubmission: false });
  }
  if (prompt.name === 'consent') return consent(provider, req, res, details);
  if (prompt.name !== 'login') {
    return send(res, 400, page('Error', `<p>unsupported prompt ${escapeHtml(prompt.name)}</p>`));
  }
  if (action !== 'login' || req.method !== 'POST') {
    return send(res, 200, loginForm(uid, params.client_id));
  }
  const form = new URLSearchParams(await readBody(req));
  const username = form.get('username') ?? '';
  const user = ACCOUNTS.users[username];
  const given = Buffer.from(form.get('password') ?? '');
  const wanted = Buffer.from(user?.password ?? '');
  if (!user || given.length !== wanted.length || !crypto.timingSafeEqual(given, wanted)) {
    return send(res, 401, loginForm(uid, params.client_id, 'wrong username or password'));
  }
  return provider.interactionFinished(req, res, { login: { accountId: username } },
    { mergeWithLastSubmission: false });
}

// -- test-only admin routes -----------------------------------------------------------------

// POST /_test/keys/rotate {"retain": N}: a new key generation signs from now on; the N most
// recent older generations (default 1) stay published, older ones are dropped. So a second
// rotation removes the first key, and {"retain": 0} drops every old key at once.
// POST /_test/clock {"offset": S}: the skew added to the times in JWTs issued from now on.
// GET /_test/state: the current kids, the published kids and the clock offset.
let rebuild = () => {};

function state() {
  return {
    current: keyGenerations[0].map((key) => key.kid),
    published: keyGenerations.flat().map((key) => key.kid),
    clock_offset: tokenClockOffset,
  };
}

async function readJson(req) {
  const text = (await readBody(req)).trim();
  return text ? JSON.parse(text) : {};
}

function sendJson(res, status, value) {
  send(res, status, JSON.stringify(value), 'application/json');
}

async function adminRoute(req, res, route) {
  if (!ADMIN_SECRET) return sendJson(res, 404, { error: 'not_found' });
  const given = Buffer.from(req.headers.authorization ?? '');
  const wanted = Buffer.from(`Bearer ${ADMIN_SECRET}`);
  if (given.length !== wanted.length || !crypto.timingSafeEqual(given, wanted)) {
    return sendJson(res, 401, { error: 'unauthorized' });
  }
  const key = `${req.method} ${route}`;
  if (key === 'POST keys/rotate') {
    const { retain = 1 } = await readJson(req);
    if (!Number.isInteger(retain) || retain < 0) {
      return sendJson(res, 400, { error: 'retain must be a whole number' });
    }
    keyGenerations = [newKeyGeneration(), ...keyGenerations.slice(0, retain)];
    rebuild();
  } else if (key === 'POST clock') {
    const { offset } = await readJson(req);
    if (!Number.isInteger(offset)) {
      return sendJson(res, 400, { error: 'offset must be a whole number of seconds' });
    }
    tokenClockOffset = offset;
  } else if (key !== 'GET state') {
    return sendJson(res, 404, { error: 'not_found' });
  }
  return sendJson(res, 200, state());
}

// -- serving --------------------------------------------------------------------------------

const INTERACTION = /^\/interaction\/([\w-]+)(?:\/(login|abort))?\/?$/;

// `current()` is the Provider of the moment and its request handler.
function serve(current) {
  return async (req, res) => {
    const { pathname } = new URL(req.url, 'http://localhost');
    // One line a request in the log the harness quotes on failure (paths only: queries and
    // bodies carry codes and secrets).
    res.on('finish', () => console.log(`${req.method} ${pathname} ${res.statusCode}`));
    try {
      const match = INTERACTION.exec(pathname);
      if (match) return await interaction(current().provider, req, res, match[1], match[2]);
      if (pathname.startsWith('/_test/')) {
        return await adminRoute(req, res, pathname.slice('/_test/'.length));
      }
      return current().handle(req, res);
    } catch (error) {
      if (error instanceof errors.SessionNotFound) {
        return send(res, 400, page('Error', `<p class="error">${escapeHtml(error.message)}</p>
<p class="error_description">${escapeHtml(error.error_description ?? '')}</p>`));
      }
      console.error('error', req.method, pathname, error);
      return send(res, 500, page('Error', `<p>${escapeHtml(error.message)}</p>`));
    }
  };
}

function main() {
  let current;
  const server = createServer(serve(() => current));
  server.listen(Number(options.port), options.host, () => {
    const { address, port } = server.address();
    const host = address.includes(':') ? `[${address}]` : address;
    const issuer = `http://${host}:${port}`;
    const build = () => {
      const provider = buildProvider(issuer);
      current = { provider, handle: provider.callback() };
    };
    build();
    // Key rotation: oidc-provider reads its keys once, when built, and has no API to change
    // them, so a rotation builds a new Provider over the same issuer, clients, cookie keys and
    // storage (SharedMemoryAdapter): sessions, grants, device codes and refresh tokens carry
    // over, and the port never closes.
    rebuild = build;
    const ready = JSON.stringify({ issuer, port, audiences: AUDIENCES });
    if (options['ready-file']) {
      writeFileSync(`${options['ready-file']}.tmp`, ready);
      renameSync(`${options['ready-file']}.tmp`, options['ready-file']);
    }
    console.log(`oidc-provider ready ${ready}`);
  });
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.on(signal, () => {
      server.close(() => process.exit(0));
      server.closeAllConnections();
    });
  }
}

main();
