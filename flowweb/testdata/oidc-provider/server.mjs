// The oidc-provider OpenID provider on loopback, for flowweb's consent-flow
// test. It binds 127.0.0.1 on a port the system chooses, prints
// {"issuer": "http://127.0.0.1:PORT"} on one line of stdout once it serves,
// and exits when stdin closes.
//
// Environment: RISCD_OP_CLIENT_ID, RISCD_OP_CLIENT_SECRET and
// RISCD_OP_REDIRECT_URI register one confidential client. ID tokens are
// signed ES256 with a P-256 key made at start. Logins are oidc-provider's
// development interactions: any login name and password, then Continue on
// the consent page.
import { createServer } from 'node:http';
import { generateKeyPairSync, randomBytes, webcrypto } from 'node:crypto';

// Debian 12's Node 18 has Web Crypto only in node:crypto; oidc-provider's
// dependencies use the global one, so it is set before they load.
globalThis.crypto ??= webcrypto;
const { default: Provider } = await import('oidc-provider');

const env = (name) => {
  const v = process.env[name];
  if (!v) {
    process.stderr.write(`server.mjs: ${name} is required\n`);
    process.exit(2);
  }
  return v;
};

const signingKey = {
  ...generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' }),
  kid: 'es256-1', alg: 'ES256', use: 'sig',
};

const configuration = {
  clients: [{
    client_id: env('RISCD_OP_CLIENT_ID'),
    client_secret: env('RISCD_OP_CLIENT_SECRET'),
    redirect_uris: [env('RISCD_OP_REDIRECT_URI')],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
    id_token_signed_response_alg: 'ES256',
  }],
  jwks: { keys: [signingKey] },
  cookies: { keys: [randomBytes(32).toString('base64url')] },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name'],
  },
  scopes: ['openid', 'offline_access', 'email', 'profile'],
  // The email claim in the ID token itself, as Google's are.
  conformIdTokenClaims: false,
  features: {
    devInteractions: { enabled: true },
    revocation: { enabled: true },
    userinfo: { enabled: true },
  },
  async findAccount(ctx, id) {
    return {
      accountId: id,
      async claims() {
        return { sub: id, email: `${id}@example.test`, email_verified: true, name: `Test user ${id}` };
      },
    };
  },
};

let handle = (req, res) => { res.statusCode = 503; res.end(); };
const server = createServer((req, res) => handle(req, res));
server.listen(0, '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, configuration);
  provider.on('server_error', (ctx, err) => process.stderr.write(`server_error: ${err.stack}\n`));
  handle = provider.callback();
  process.stdout.write(JSON.stringify({ issuer }) + '\n');
});
process.stdin.on('end', () => process.exit(0));
process.stdin.on('close', () => process.exit(0));
process.stdin.resume();
