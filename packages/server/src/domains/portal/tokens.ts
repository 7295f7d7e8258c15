/**
 * The portal's secrets, as pure functions: a session's bearer token (`bps_…`) and one-time code
 * (`bpc_…`) each carry the environment and customer they belong to, so a lookup is by (environment,
 * customer, hash) like every customer's row; only their SHA-256 hashes are stored; the CSRF token
 * is derived from the session's token, so it needs no storage and reveals nothing of the token.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';

export interface SecretOwner {
  readonly environmentId: string;
  readonly customer: string;
}

const tokenPrefix = 'bps_';
const codePrefix = 'bpc_';
/** base64url of the owner, a dot, then 32 random bytes in base64url (43 characters). */
const secretPattern = /^([A-Za-z0-9_-]{4,400})\.([A-Za-z0-9_-]{43})$/;
// Neither environment ids nor customer keys contain a line feed, so it parts them unambiguously.
const ownerSeparator = '\n';

function mint(prefix: string, owner: SecretOwner): string {
  const encodedOwner = Buffer.from(`${owner.environmentId}${ownerSeparator}${owner.customer}`).toString('base64url');
  return `${prefix}${encodedOwner}.${randomBytes(32).toString('base64url')}`;
}

export function mintPortalToken(owner: SecretOwner): string {
  return mint(tokenPrefix, owner);
}

export function mintPortalCode(owner: SecretOwner): string {
  return mint(codePrefix, owner);
}

function ownerOf(prefix: string, secret: string): SecretOwner | null {
  if (!secret.startsWith(prefix)) return null;
  const match = secretPattern.exec(secret.slice(prefix.length));
  if (match === null) return null;
  const [environmentId, customer, ...rest] = Buffer.from(match[1] ?? '', 'base64url')
    .toString('utf8')
    .split(ownerSeparator);
  if (environmentId === undefined || customer === undefined || rest.length > 0) return null;
  if (environmentId === '' || customer === '') return null;
  return { environmentId, customer };
}

/** The environment and customer a token names, or null when it is not a portal token's shape. */
export function portalTokenOwner(token: string): SecretOwner | null {
  return ownerOf(tokenPrefix, token);
}

export function portalCodeOwner(code: string): SecretOwner | null {
  return ownerOf(codePrefix, code);
}

/** What is stored of a token or code: 256 random bits make a slow hash pointless. */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/** The session's CSRF token: an HMAC of a fixed label under the token, so only the token's holder can compute it. */
export function csrfTokenOf(token: string): string {
  return createHmac('sha256', token).update('bursar portal csrf').digest('base64url');
}
