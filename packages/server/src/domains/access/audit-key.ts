/**
 * The audit key: the secret that keys the audit chain, kept outside the database so that someone
 * who can write the database cannot forge the chain. Given by BURSAR_AUDIT_KEY, or generated once
 * into BURSAR_AUDIT_KEY_FILE with owner-only permissions.
 */
import { randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Config } from '../../config.ts';

/**
 * The key bytes. `create`: at server start, a missing file is generated (0600, its directory 0700
 * when created); a command that only checks (`verify`, `audit-head`) never creates one, since a
 * new key could only make every keyed row look forged.
 */
export function loadAuditKey(config: Pick<Config, 'auditKey' | 'auditKeyFile'>, options: { create: boolean }): Buffer {
  if (config.auditKey !== null) return Buffer.from(config.auditKey, 'utf8');
  const existing = readKeyFile(config.auditKeyFile);
  if (existing !== null) return existing;
  if (!options.create) {
    throw new Error(
      `no audit key: ${config.auditKeyFile} does not exist; set BURSAR_AUDIT_KEY or BURSAR_AUDIT_KEY_FILE to the server's key`,
    );
  }
  mkdirSync(dirname(config.auditKeyFile), { recursive: true, mode: 0o700 });
  // Written whole beside it, then linked into place: a link either appears complete or fails with
  // EEXIST, so of two processes starting at once one installs its key and the other reads that one,
  // never a half-written file.
  const written = `${config.auditKeyFile}.${process.pid}.${randomBytes(6).toString('hex')}`;
  writeFileSync(written, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
  try {
    linkSync(written, config.auditKeyFile);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    rmSync(written, { force: true });
  }
  const created = readKeyFile(config.auditKeyFile);
  if (created === null) throw new Error(`assertion failed: ${config.auditKeyFile} was just written`);
  return created;
}

function readKeyFile(path: string): Buffer | null {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  const key = text.trim();
  if (key.length < 32) throw new Error(`the audit key in ${path} is shorter than 32 characters`);
  return Buffer.from(key, 'utf8');
}
