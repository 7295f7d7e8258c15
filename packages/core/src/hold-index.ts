/**
 * The soonest expiry among a wallet's open holds, kept per hold array like the grant index
 * (grant-index.ts): settlement asks for it before and after every decision, so with thousands of
 * holds open the common case (none expired) is one comparison, not a pass over every hold.
 */
import type { Hold } from './wallet.ts';

const deadlines = new WeakMap<readonly Hold[], number>();

/** When the first open hold expires; +∞ with none. */
export function holdDeadline(holds: readonly Hold[]): number {
  let deadline = deadlines.get(holds);
  if (deadline === undefined) {
    deadline = Number.POSITIVE_INFINITY;
    for (const hold of holds) if (hold.expiresAt < deadline) deadline = hold.expiresAt;
    deadlines.set(holds, deadline);
  }
  return deadline;
}

export function withHold(holds: readonly Hold[], hold: Hold): readonly Hold[] {
  const next = [...holds, hold];
  const deadline = deadlines.get(holds);
  if (deadline !== undefined) deadlines.set(next, Math.min(deadline, hold.expiresAt));
  return next;
}

export function withoutHold(holds: readonly Hold[], holdId: string): readonly Hold[] {
  let removed: Hold | undefined;
  const next = holds.filter((open) => {
    if (open.id !== holdId) return true;
    removed = open;
    return false;
  });
  const deadline = deadlines.get(holds);
  // Another hold ends first, so the deadline stands; otherwise it is found again when asked for.
  if (deadline !== undefined && removed !== undefined && removed.expiresAt > deadline) deadlines.set(next, deadline);
  return next;
}

/** `holds` with the open hold of the same id replaced by `hold`, whose expiry is never earlier. */
export function replaceHold(holds: readonly Hold[], hold: Hold): readonly Hold[] {
  let replaced: Hold | undefined;
  const next = holds.map((open) => {
    if (open.id !== hold.id) return open;
    replaced = open;
    return hold;
  });
  const deadline = deadlines.get(holds);
  if (deadline !== undefined && replaced !== undefined && replaced.expiresAt > deadline) deadlines.set(next, deadline);
  return next;
}
