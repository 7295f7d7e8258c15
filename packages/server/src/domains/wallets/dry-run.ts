/**
 * The answer of `?dry_run=true`: the request is decided by the committer on the locked wallets in a
 * transaction it rolls back, and answered with every wallet's balance before and after and the body
 * the real call would have answered. A refusal is answered as the real call would answer it.
 */
import type { Caller, Reply } from '../../platform/contract.ts';
import type { LedgerService } from '../../platform/service.ts';
import { okReply } from '../../platform/service.ts';
import { toWireBalance } from './wire.ts';

/** Runs `call` for real, or as a dry run when the query asks for one, and renders the preview. */
export async function answerOrDryRun(
  service: LedgerService,
  caller: Caller,
  query: { readonly dry_run?: 'true' | 'false' | undefined },
  call: (caller: Caller) => Promise<Reply>,
): Promise<Reply> {
  if (query.dry_run !== 'true') return call(caller);
  const reply = await call({ ...caller, dryRun: true });
  // Refused before it reached the committer (an unknown customer, a bad amount), or by its decision.
  if (reply.problem) return reply;
  const decided = reply.dryRun;
  if (decided === undefined) throw new Error('assertion failed: a dry run reaches the committer or is refused');
  const wallets = [...decided.wallets].sort((a, b) =>
    `${a.key.customer}\u0000${a.key.asset}` < `${b.key.customer}\u0000${b.key.asset}` ? -1 : 1,
  );
  const balances_before = [];
  const balances_after = [];
  for (const { key, before, after } of wallets) {
    const asset = await service.asset(key.environmentId, key.asset);
    if (asset === undefined) throw new Error('assertion failed: a decided wallet names an existing asset');
    balances_before.push({ customer: key.customer, ...toWireBalance(before, asset.scale, decided.now) });
    balances_after.push({ customer: key.customer, ...toWireBalance(after, asset.scale, decided.now) });
  }
  return okReply(200, { dry_run: true, balances_before, balances_after, result: JSON.parse(reply.bodyText) });
}
