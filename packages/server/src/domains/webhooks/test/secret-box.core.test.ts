/**
 * The sealed form of webhook signing secrets as pure functions: it opens only for its own row under
 * its own key, a fresh IV each time, tampering detected, and its key is the documented HKDF-SHA256
 * derivation of the audit key (checked here by decrypting with a derivation written out from RFC 5869).
 */
import assert from 'node:assert/strict';
import { createDecipheriv, createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import { openSecret, SecretNotOpened, sealSecret } from '../secret-box.ts';

const auditKey = Buffer.from('test-audit-key-0123456789abcdefghijklmnopqrstuvwxyz', 'utf8');
const owner = { environmentId: 'env_a', endpointId: 'whe_1' };
const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

/** RFC 5869 with an empty salt and one block of output: the key secret-box.ts must derive. */
function derivedKey(info: string): Buffer {
  const pseudorandomKey = createHmac('sha256', Buffer.alloc(32)).update(auditKey).digest();
  return createHmac('sha256', pseudorandomKey)
    .update(Buffer.concat([Buffer.from(info, 'utf8'), Buffer.from([1])]))
    .digest();
}

describe('secret box', () => {
  it('opens what it sealed, for the same row and key; each seal has its own IV', () => {
    const sealed = sealSecret(auditKey, owner, secret);
    assert.match(sealed, /^v1\.[\w-]{16}\.[\w-]+\.[\w-]{22}$/);
    assert.ok(!sealed.includes(secret.slice(6)));
    assert.equal(openSecret(auditKey, owner, sealed), secret);
    const again = sealSecret(auditKey, owner, secret);
    assert.notEqual(again.split('.')[1], sealed.split('.')[1], 'a fresh IV');
    assert.equal(openSecret(auditKey, owner, again), secret);
  });

  it('is encrypted under the HKDF-SHA256 key labelled "bursar webhook secrets v1", with the row as data', () => {
    const [, iv, ciphertext, tag] = sealSecret(auditKey, owner, secret).split('.');
    const decipher = createDecipheriv(
      'aes-256-gcm',
      derivedKey('bursar webhook secrets v1'),
      Buffer.from(iv ?? '', 'base64url'),
    );
    decipher.setAAD(Buffer.from('webhook_endpoints\u0000env_a\u0000whe_1', 'utf8'));
    decipher.setAuthTag(Buffer.from(tag ?? '', 'base64url'));
    const opened = Buffer.concat([decipher.update(Buffer.from(ciphertext ?? '', 'base64url')), decipher.final()]);
    assert.equal(opened.toString('utf8'), secret);
  });

  it('refuses another row, another key, a changed byte, a plaintext and a malformed value, naming why', () => {
    const sealed = sealSecret(auditKey, owner, secret);
    const refusals: [string, () => string, RegExp][] = [
      ['another endpoint', () => openSecret(auditKey, { ...owner, endpointId: 'whe_2' }, sealed), /does not decrypt/],
      [
        'another environment',
        () => openSecret(auditKey, { ...owner, environmentId: 'env_b' }, sealed),
        /does not decrypt/,
      ],
      ['another key', () => openSecret(Buffer.from(`other-${'k'.repeat(40)}`), owner, sealed), /audit key/],
      [
        'a changed ciphertext',
        () => {
          const parts = sealed.split('.');
          const body = Buffer.from(parts[2] ?? '', 'base64url');
          body[0] = (body[0] ?? 0) ^ 1;
          parts[2] = body.toString('base64url');
          return openSecret(auditKey, owner, parts.join('.'));
        },
        /does not decrypt/,
      ],
      ['a plaintext secret', () => openSecret(auditKey, owner, secret), /not encrypted/],
      ['a value with a short tag', () => openSecret(auditKey, owner, sealed.slice(0, -4)), /malformed/],
      ['a value with an extra part', () => openSecret(auditKey, owner, `${sealed}.x`), /malformed/],
    ];
    for (const [what, open, reason] of refusals) {
      assert.throws(open, (error: unknown) => error instanceof SecretNotOpened && reason.test(error.message), what);
    }
  });
});
