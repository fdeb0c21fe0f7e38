// A real OpenID Connect provider (the certified `oidc-provider` package) for the single sign-on tests, on loopback.
//
// Environment:
//   OIDC_PORT      the port to listen on (127.0.0.1)
//   OIDC_ISSUER    the issuer URL it names itself by (default http://127.0.0.1:PORT)
//   OIDC_KEYS      a JSON array of private JWKs, the first one signs (rotation: restart with a new key first)
//   OIDC_CLIENTS   a JSON array of clients, as oidc-provider takes them; each may carry "groups": the groups claim its
//                  client-credentials tokens carry (as an IdP's app roles or a service principal's groups would)
//   OIDC_USERS     a JSON object: account id -> { email, groups, password }
//   OIDC_TOKEN_TTL seconds an access token lives (default 600)
//
// Access tokens are JWTs for the resource asked for (RFC 8707 resource indicators), "urn:factory" when none is named;
// the audience is the resource. People sign in through the provider's own login and consent pages (development
// interactions: any password is taken unless the account names one).
// Prints "oidc-provider listening on URL" once it serves.
import Provider from "oidc-provider";

const port = Number(process.env.OIDC_PORT);
const issuer = process.env.OIDC_ISSUER || `http://127.0.0.1:${port}`;
const keys = JSON.parse(process.env.OIDC_KEYS);
const clients = JSON.parse(process.env.OIDC_CLIENTS || "[]");
const users = JSON.parse(process.env.OIDC_USERS || "{}");
const ttl = Number(process.env.OIDC_TOKEN_TTL || 600);
const groupsOfClient = Object.fromEntries(clients.map((c) => [c.client_id, c.groups || []]));
for (const c of clients) delete c.groups;

const provider = new Provider(issuer, {
  jwks: { keys },
  clients,
  clientDefaults: { id_token_signed_response_alg: keys[0].alg || "ES256", grant_types: ["authorization_code"] },
  claims: { openid: ["sub"], email: ["email", "email_verified"], groups: ["groups"] },
  scopes: ["openid", "email", "groups", "offline_access", "api"],
  pkce: { required: () => true },
  // The ID token carries the claims its scopes ask for (email, groups), as sites configure Keycloak or Okta to.
  conformIdTokenClaims: false,
  features: {
    devInteractions: { enabled: true },
    clientCredentials: { enabled: true },
    deviceFlow: { enabled: true },
    revocation: { enabled: true },
    rpInitiatedLogout: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: (_ctx, _client, oneOf) => oneOf || "urn:factory",
      useGrantedResource: () => true,
      getResourceServerInfo: (_ctx, resource) => ({
        scope: "api",
        audience: resource,
        accessTokenTTL: ttl,
        accessTokenFormat: "jwt",
        jwt: { sign: { alg: keys[0].alg || "ES256" } },
      }),
    },
  },
  extraTokenClaims: (_ctx, token) => {
    if (token.accountId && users[token.accountId]) {
      return { groups: users[token.accountId].groups || [], email: users[token.accountId].email };
    }
    return token.clientId ? { groups: groupsOfClient[token.clientId] || [] } : undefined;
  },
  findAccount: (_ctx, id) => {
    const user = users[id];
    if (!user) return undefined;
    return {
      accountId: id,
      claims: () => ({ sub: id, email: user.email, email_verified: true, groups: user.groups || [] }),
    };
  },
  ttl: { AccessToken: ttl, IdToken: ttl, ClientCredentials: ttl, Session: 3600, Grant: 3600, Interaction: 600 },
  loadExistingGrant: async (ctx) => {
    // Consent is implied for the test clients: every sign-in gets the scopes and claims it asks for.
    const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope("openid email groups offline_access");
    grant.addOIDCClaims(["email", "email_verified", "groups"]);
    grant.addResourceScope("urn:factory", "api");
    await grant.save();
    return grant;
  },
});
provider.proxy = false;

provider.listen(port, "127.0.0.1", () => {
  console.log(`oidc-provider listening on ${issuer}`);
});
