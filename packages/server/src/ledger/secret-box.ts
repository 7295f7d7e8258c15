/**
 * Webhook signing secrets at rest: sealed with AES-256-GCM under a key derived from the audit key
 * (kept outside the database) and bound to their endpoint row, so the database alone signs nothing.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

/** The row a sealed secret belongs to: its additional authenticated data, so a copy to another row fails. */
export interface SecretOwner {
  readonly environmentId: string;
  readonly endpointId: string;
}

const sealedVersion = 'v1';
const keyInfo = 'bursar webhook secrets v1';
const ivBytes = 12;
const tagBytes = 16;

/**
 * The encryption key, derived with HKDF-SHA256 under its own label: the audit key itself keys HMACs
 * of the audit chain, and one key is never used for two purposes.
 */
function sealingKey(auditKey: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', auditKey, Buffer.alloc(0), keyInfo, 32));
}

function ownerData(owner: SecretOwner): Buffer {
  // Ids are refused if they hold a NUL, so the separator makes the pair unambiguous.
  return Buffer.from(`webhook_endpoints\u0000${owner.environmentId}\u0000${owner.endpointId}`, 'utf8');
}

/** Whether a stored value is in the sealed form (anything else is plaintext from before sealing, or foreign). */
function isSealedSecret(stored: string): boolean {
  return stored.startsWith(`${sealedVersion}.`);
}

/** `v1.<iv>.<ciphertext>.<tag>`, each base64url, with a fresh random IV. */
export function sealSecret(auditKey: Buffer, owner: SecretOwner, secret: string): string {
  const iv = randomBytes(ivBytes);
  const cipher = createCipheriv('aes-256-gcm', sealingKey(auditKey), iv, { authTagLength: tagBytes });
  cipher.setAAD(ownerData(owner));
  const ciphertext = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
  return [sealedVersion, iv, ciphertext, cipher.getAuthTag()]
    .map((part) => (typeof part === 'string' ? part : part.toString('base64url')))
    .join('.');
}

/** Why a stored secret cannot sign: said in the delivery attempt's error and in the log. */
export class SecretNotOpened extends Error {}

/** The plaintext secret; throws SecretNotOpened, naming the reason, if `stored` is not a value sealed for `owner` under this key. */
export function openSecret(auditKey: Buffer, owner: SecretOwner, stored: string): string {
  if (!isSealedSecret(stored)) {
    throw new SecretNotOpened(
      'the stored signing secret is not encrypted (written by an older version or directly into the database); restart the server to encrypt it, or rotate the secret',
    );
  }
  const [, ivText, ciphertextText, tagText, ...rest] = stored.split('.');
  const iv = Buffer.from(ivText ?? '', 'base64url');
  const tag = Buffer.from(tagText ?? '', 'base64url');
  if (rest.length > 0 || ciphertextText === undefined || iv.length !== ivBytes || tag.length !== tagBytes) {
    throw new SecretNotOpened('the stored signing secret is malformed; rotate the secret');
  }
  const decipher = createDecipheriv('aes-256-gcm', sealingKey(auditKey), iv, { authTagLength: tagBytes });
  decipher.setAAD(ownerData(owner));
  decipher.setAuthTag(tag);
  try {
    return Buffer.concat([decipher.update(Buffer.from(ciphertextText, 'base64url')), decipher.final()]).toString(
      'utf8',
    );
  } catch {
    throw new SecretNotOpened(
      "the stored signing secret does not decrypt: the server's audit key (BURSAR_AUDIT_KEY or BURSAR_AUDIT_KEY_FILE) is not the one it was encrypted with, or the value belongs to another endpoint",
    );
  }
}
