/** Which tools a key may see: scopes nest (owner ⊃ admin ⊃ write ⊃ ingest ⊃ read), as the server decides them. */
import type { Scope } from '@bursar/api';
import { scopes } from '@bursar/api';

/** Whether a key holding `granted` may call an operation that needs `needed`; `scopes` lists the widest first. */
export function scopeIncludes(granted: readonly Scope[], needed: Scope): boolean {
  const neededRank = scopes.indexOf(needed);
  return granted.some((scope) => scopes.indexOf(scope) <= neededRank);
}
