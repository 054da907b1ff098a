// panva's oidc-provider (9.x) with a Redis store, the peer that benchmarks/auth_bench.py runs
// beside eid. Usage: node provider.js CONFIG.json
//
// CONFIG: {port, issuer, redis_port, basic: {client_id, client_secret}, fapi: {client_id, jwks},
//          redirect_uri, mint: {basic: N, fapi: N}, out: PATH}
// Mints the codes through the provider's own models (Grant + AuthorizationCode, saved through the
// adapter, so into Redis) before it listens, writes them to `out` as JSON, then prints "ready".
// The Redis adapter is the pattern of oidc-provider's example adapter (example/adapters/redis.js):
// consumable models as hashes, `consume` sets a field, grants as lists for revocation.

import { createHash, createHmac, generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';

import Redis from 'ioredis';
import Provider from 'oidc-provider';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const client = new Redis({ host: '127.0.0.1', port: config.redis_port, keyPrefix: 'oidc:' });

const grantable = new Set([
  'AccessToken',
  'AuthorizationCode',
  'RefreshToken',
  'DeviceCode',
  'BackchannelAuthenticationRequest',
]);
const consumable = new Set([
  'AuthorizationCode',
  'RefreshToken',
  'DeviceCode',
  'BackchannelAuthenticationRequest',
]);

const grantKeyFor = (id) => `grant:${id}`;
const userCodeKeyFor = (userCode) => `userCode:${userCode}`;
const uidKeyFor = (uid) => `uid:${uid}`;

class RedisAdapter {
  constructor(name) {
    this.name = name;
  }

  key(id) {
    return `${this.name}:${id}`;
  }

  async upsert(id, payload, expiresIn) {
    const key = this.key(id);
    const multi = client.multi();
    if (consumable.has(this.name)) {
      multi.hset(key, { payload: JSON.stringify(payload) });
    } else {
      multi.set(key, JSON.stringify(payload));
    }
    if (expiresIn) multi.expire(key, expiresIn);
    if (grantable.has(this.name) && payload.grantId) {
      const grantKey = grantKeyFor(payload.grantId);
      multi.rpush(grantKey, key);
      const ttl = await client.ttl(grantKey);
      if (expiresIn > ttl) multi.expire(grantKey, expiresIn);
    }
    if (payload.userCode) {
      const userCodeKey = userCodeKeyFor(payload.userCode);
      multi.set(userCodeKey, id);
      multi.expire(userCodeKey, expiresIn);
    }
    if (payload.uid) {
      const uidKey = uidKeyFor(payload.uid);
      multi.set(uidKey, id);
      multi.expire(uidKey, expiresIn);
    }
    await multi.exec();
  }

  async find(id) {
    const data = consumable.has(this.name)
      ? await client.hgetall(this.key(id))
      : await client.get(this.key(id));
    if (!data || (typeof data === 'object' && Object.keys(data).length === 0)) return undefined;
    if (typeof data === 'string') return JSON.parse(data);
    const { payload, ...rest } = data;
    return { ...rest, ...JSON.parse(payload) };
  }

  async findByUid(uid) {
    const id = await client.get(uidKeyFor(uid));
    return this.find(id);
  }

  async findByUserCode(userCode) {
    const id = await client.get(userCodeKeyFor(userCode));
    return this.find(id);
  }

  async destroy(id) {
    await client.del(this.key(id));
  }

  async revokeByGrantId(grantId) {
    const multi = client.multi();
    const tokens = await client.lrange(grantKeyFor(grantId), 0, -1);
    for (const token of tokens) multi.del(token);
    multi.del(grantKeyFor(grantId));
    await multi.exec();
  }

  async consume(id) {
    await client.hset(this.key(id), 'consumed', Math.floor(Date.now() / 1000));
  }
}

const signing = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({
  format: 'jwk',
});

const sectorSecret = randomBytes(32);

const provider = new Provider(config.issuer, {
  adapter: RedisAdapter,
  jwks: { keys: [{ ...signing, kid: 'bench-es256', alg: 'ES256', use: 'sig' }] },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  clients: [
    {
      client_id: config.basic.client_id,
      client_secret: config.basic.client_secret,
      redirect_uris: [config.redirect_uri],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: 'ES256',
      subject_type: 'pairwise',
    },
    {
      client_id: config.fapi.client_id,
      redirect_uris: [config.redirect_uri],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'private_key_jwt',
      token_endpoint_auth_signing_alg: 'ES256',
      id_token_signed_response_alg: 'ES256',
      subject_type: 'pairwise',
      jwks: config.fapi.jwks,
      dpop_bound_access_tokens: true,
      require_pushed_authorization_requests: true,
    },
  ],
  clientAuthMethods: ['client_secret_basic', 'private_key_jwt'],
  enabledJWA: { idTokenSigningAlgValues: ['ES256'], clientAuthSigningAlgValues: ['ES256'] },
  features: {
    devInteractions: { enabled: false },
    pushedAuthorizationRequests: { enabled: true },
    dPoP: { enabled: true },
    fapi: {
      enabled: true,
      profile: (ctx, client) => (client?.clientId === config.fapi.client_id ? '2.0' : undefined),
    },
  },
  pkce: { required: () => true },
  scopes: ['openid'],
  claims: { openid: ['sub'] },
  subjectTypes: ['public', 'pairwise'],
  rotateRefreshToken: true,
  issueRefreshToken: async () => true,
  ttl: { AccessToken: 600, IdToken: 3600, RefreshToken: 30 * 24 * 3600, AuthorizationCode: 3600, Grant: 30 * 24 * 3600 },
  // Pairwise subjects as eid makes them: HMAC-SHA256 under a per-sector secret.
  pairwiseIdentifier: async (ctx, accountId, client) =>
    createHmac('sha256', sectorSecret).update(`${client.sectorIdentifier}:${accountId}`).digest('base64url'),
  findAccount: async (ctx, sub) => ({ accountId: sub, claims: async () => ({ sub }) }),
});
provider.on('server_error', (ctx, err) => console.error('server_error', err));

const s256 = (verifier) => createHash('sha256').update(verifier).digest('base64url');

async function mint(clientId, n) {
  const clientModel = await provider.Client.find(clientId);
  const out = [];
  const now = Math.floor(Date.now() / 1000);
  for (let i = 0; i < n; i += 1) {
    const accountId = `holder-${i % 8}`;
    const grant = new provider.Grant({ accountId, clientId });
    grant.addOIDCScope('openid');
    const grantId = await grant.save();
    const verifier = randomBytes(36).toString('base64url');
    const code = new provider.AuthorizationCode({
      client: clientModel,
      accountId,
      grantId,
      scope: 'openid',
      redirectUri: config.redirect_uri,
      codeChallenge: s256(verifier),
      codeChallengeMethod: 'S256',
      nonce: randomBytes(8).toString('hex'),
      authTime: now,
      acr: 'urn:eid:vn:level2',
      amr: ['pwd', 'hwk'],
    });
    out.push([await code.save(), verifier]);
  }
  return out;
}

const minted = {
  basic: await mint(config.basic.client_id, config.mint.basic),
  fapi: await mint(config.fapi.client_id, config.mint.fapi),
};
writeFileSync(config.out, JSON.stringify(minted));
provider.listen(config.port, '127.0.0.1', () => console.log('ready'));
