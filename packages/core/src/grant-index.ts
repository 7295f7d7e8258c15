/**
 * Indexes of a wallet's grant array, so a big wallet costs a draw or a balance read about what a
 * small one does: each grant's position by id, the consumption order as positions, and the totals
 * a balance view adds up. Wallets are immutable values, so an index belongs to one array; it is
 * computed once when first asked for, and carried to the next array by the functions here that
 * make it (a draw replaces a few grants in place, a grant is appended, spent lots are pruned),
 * which update it for what changed instead of going over every grant again. An array made any
 * other way simply gets its index computed afresh, so the indexes can never disagree with the
 * grants; a property test checks that the carried ones equal the computed ones.
 */
import type { Comparator } from './grant-order.ts';
import { grantComparator } from './grant-order.ts';
import type { Grant, OrderKey } from './wallet.ts';
import { isGrantDead } from './wallet.ts';

/**
 * What a balance view sums over the grants, valid for every `now` in [from, until): no grant
 * becomes effective or expires in between, so each grant's status is the same throughout.
 */
export interface GrantTotals {
  readonly from: number;
  readonly until: number;
  /** Σ remaining over every grant, whatever its status: the booked balance before debt. */
  readonly remaining: bigint;
  /** Grants with nothing remaining (spent lots, pruned from the cached state after a batch). */
  readonly spent: number;
  /** Over grants that are effective (or dead): remaining of live ones, reserved of dead ones. */
  readonly balance: bigint;
  /** Reserved credit of grants that are effective (or dead). */
  readonly held: bigint;
  /** Unreserved credit of usable grants open to any feature. */
  readonly free: bigint;
  /** Unreserved credit of usable grants restricted to features, by each feature they allow. */
  readonly freeByFeature: ReadonlyMap<string, bigint>;
  /** Credit of grants not effective yet. */
  readonly scheduled: bigint;
  /** Unreserved credit of dead grants: what settlement has left to book. */
  readonly deadFree: bigint;
  /** Dead, unvoided grants that still carry a rollover plan: settlement has a rollover to book. */
  readonly rolloverDue: number;
  /** The soonest expiry of live credit; undefined once a change made it unknown (counted again on demand). */
  nextExpiry: { readonly at: number; readonly amount: bigint } | null | undefined;
}

interface GrantIndex {
  positions?: Map<string, number>;
  order?: { readonly key: string; readonly positions: Int32Array };
  totals?: GrantTotals;
}

const indexes = new WeakMap<readonly Grant[], GrantIndex>();

function indexOf(grants: readonly Grant[]): GrantIndex {
  let index = indexes.get(grants);
  if (index === undefined) {
    index = {};
    indexes.set(grants, index);
  }
  return index;
}

/** The position of grant `id` in `grants`, or −1. */
export function grantPosition(grants: readonly Grant[], id: string): number {
  const index = indexOf(grants);
  if (index.positions === undefined) {
    const positions = new Map<string, number>();
    for (let position = 0; position < grants.length; position += 1)
      positions.set((grants[position] as Grant).id, position);
    index.positions = positions;
  }
  return index.positions.get(id) ?? -1;
}

export function findGrant(grants: readonly Grant[], id: string): Grant | undefined {
  const position = grantPosition(grants, id);
  return position < 0 ? undefined : grants[position];
}

/** Positions of `grants` in consumption order (ties broken by creation time, then id). */
export function orderedPositions(grants: readonly Grant[], order: readonly OrderKey[]): Int32Array {
  const index = indexOf(grants);
  const key = order.join(',');
  if (index.order?.key === key) return index.order.positions;
  const compare = grantComparator(order);
  const positions = Int32Array.from(grants.keys()).sort((a, b) => compare(grants[a] as Grant, grants[b] as Grant));
  index.order = { key, positions };
  return positions;
}

/** Grants at positions, replaced by new versions of themselves (same id, same bounds, same order keys). */
export function replaceGrants(grants: readonly Grant[], replacements: ReadonlyMap<number, Grant>): readonly Grant[] {
  if (replacements.size === 0) return grants;
  const next = grants.slice();
  for (const [position, grant] of replacements) next[position] = grant;
  const index = indexes.get(grants);
  if (index === undefined) return next;
  const carried: GrantIndex = {};
  // Positions and the order do not move: the grants are the same lots.
  if (index.positions !== undefined) carried.positions = index.positions;
  if (index.order !== undefined) carried.order = index.order;
  if (index.totals !== undefined) {
    let totals = index.totals;
    for (const [position, grant] of replacements) totals = replacedIn(totals, grants[position] as Grant, grant);
    carried.totals = totals;
  }
  indexes.set(next, carried);
  return next;
}

/** `grants` with `grant` appended, decided at `now`. */
export function appendGrant(grants: readonly Grant[], grant: Grant, now: number): readonly Grant[] {
  const next = [...grants, grant];
  const index = indexes.get(grants);
  if (index === undefined) return next;
  const carried: GrantIndex = {};
  if (index.order !== undefined) {
    const compare = grantComparator(index.order.key.split(',') as OrderKey[]);
    carried.order = { key: index.order.key, positions: insertInOrder(next, index.order.positions, compare) };
  }
  if (index.totals !== undefined && index.totals.from <= now && now < index.totals.until) {
    carried.totals = appendedTo(narrowed(index.totals, grant, now), grant);
  }
  indexes.set(next, carried);
  return next;
}

/** The last grant of `grants` placed in `positions` (the order of all the others) by binary search. */
function insertInOrder(grants: readonly Grant[], positions: Int32Array, compare: Comparator): Int32Array {
  const added = grants.length - 1;
  const grant = grants[added] as Grant;
  let low = 0;
  let high = positions.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (compare(grants[positions[middle] as number] as Grant, grant) < 0) low = middle + 1;
    else high = middle;
  }
  const next = new Int32Array(positions.length + 1);
  next.set(positions.subarray(0, low));
  next[low] = added;
  next.set(positions.subarray(low), low + 1);
  return next;
}

/** `grants` without the spent lots (nothing remaining, so nothing reserved either). */
export function withoutSpentGrants(grants: readonly Grant[], now: number): readonly Grant[] {
  const totals = grantTotals(grants, now);
  if (totals.spent === 0) return grants;
  const newPosition = new Int32Array(grants.length).fill(-1);
  const next: Grant[] = [];
  grants.forEach((grant, position) => {
    if (grant.remaining === 0n) return;
    newPosition[position] = next.length;
    next.push(grant);
  });
  const index = indexOf(grants);
  const carried: GrantIndex = {};
  if (index.order !== undefined) {
    const positions = new Int32Array(next.length);
    let at = 0;
    for (const position of index.order.positions) {
      const moved = newPosition[position] as number;
      if (moved >= 0) positions[at++] = moved;
    }
    carried.order = { key: index.order.key, positions };
  }
  // A spent lot adds nothing to any total but the count of spent lots.
  carried.totals = { ...totals, spent: 0 };
  indexes.set(next, carried);
  return next;
}

/** The totals of `grants` at `now`, from the carried index when it still holds, else counted. */
export function grantTotals(grants: readonly Grant[], now: number): GrantTotals {
  const index = indexOf(grants);
  const totals = index.totals;
  if (totals !== undefined && totals.from <= now && now < totals.until) return totals;
  index.totals = countTotals(grants, now);
  return index.totals;
}

/** The soonest expiry of live credit, counted again when a change left it unknown. */
export function nextExpiryOf(grants: readonly Grant[], totals: GrantTotals): GrantTotals['nextExpiry'] {
  if (totals.nextExpiry !== undefined) return totals.nextExpiry;
  let next: { at: number; amount: bigint } | null = null;
  const at = referenceTime(totals);
  for (const grant of grants) {
    if (!countsForExpiry(grant, at)) continue;
    const expiresAt = grant.expiresAt as number;
    if (next === null || expiresAt < next.at) next = { at: expiresAt, amount: grant.remaining };
    else if (expiresAt === next.at) next = { at: expiresAt, amount: next.amount + grant.remaining };
  }
  totals.nextExpiry = next;
  return next;
}

/** Unreserved credit usable now for `feature` (null: a draw that names none takes only unrestricted grants). */
export function usableFree(totals: GrantTotals, feature: string | null): bigint {
  return feature === null ? totals.free : totals.free + (totals.freeByFeature.get(feature) ?? 0n);
}

/** Counted from scratch: the definition the carried totals must always equal. */
export function countTotals(grants: readonly Grant[], now: number): GrantTotals {
  let from = Number.NEGATIVE_INFINITY;
  let until = Number.POSITIVE_INFINITY;
  for (const grant of grants) {
    for (const bound of [grant.effectiveAt, grant.expiresAt]) {
      if (bound === null) continue;
      if (bound <= now) from = Math.max(from, bound);
      else until = Math.min(until, bound);
    }
  }
  let totals: GrantTotals = {
    from,
    until,
    remaining: 0n,
    spent: 0,
    balance: 0n,
    held: 0n,
    free: 0n,
    freeByFeature: new Map(),
    scheduled: 0n,
    deadFree: 0n,
    rolloverDue: 0,
    nextExpiry: null,
  };
  for (const grant of grants) totals = appendedTo(totals, grant);
  return totals;
}

/** A time inside [from, until), where every grant's status is the one the totals counted. */
function referenceTime(totals: GrantTotals): number {
  if (totals.from !== Number.NEGATIVE_INFINITY) return totals.from;
  return totals.until === Number.POSITIVE_INFINITY ? 0 : totals.until - 1;
}

/** The interval narrowed so that `grant`'s own bounds do not fall inside it, keeping `now` in it. */
function narrowed(totals: GrantTotals, grant: Grant, now: number): GrantTotals {
  let { from, until } = totals;
  for (const bound of [grant.effectiveAt, grant.expiresAt]) {
    if (bound === null) continue;
    if (bound <= now) from = Math.max(from, bound);
    else until = Math.min(until, bound);
  }
  return from === totals.from && until === totals.until ? totals : { ...totals, from, until };
}

function appendedTo(totals: GrantTotals, grant: Grant): GrantTotals {
  return changed(totals, grant, 1n);
}

function replacedIn(totals: GrantTotals, before: Grant, after: Grant): GrantTotals {
  const at = referenceTime(totals);
  const replaced = changed(changed(totals, before, -1n), after, 1n);
  // The expiry is the lot's own, so a replacement only moves the amount due at it.
  replaced.nextExpiry = replacedExpiry(
    totals.nextExpiry,
    after.expiresAt,
    countsForExpiry(before, at) ? before.remaining : 0n,
    countsForExpiry(after, at) ? after.remaining : 0n,
  );
  return replaced;
}

function replacedExpiry(
  next: GrantTotals['nextExpiry'],
  expiresAt: number | null,
  before: bigint,
  after: bigint,
): GrantTotals['nextExpiry'] {
  if (next === undefined || expiresAt === null || before === after) return next;
  if (next === null || expiresAt < next.at) return after > 0n ? { at: expiresAt, amount: after } : next;
  if (expiresAt > next.at) return next;
  const amount = next.amount - before + after;
  // The soonest lot is gone: which expiry comes next is counted when it is asked for.
  return amount === 0n ? undefined : { at: expiresAt, amount };
}

function countsForExpiry(grant: Grant, at: number): boolean {
  return grant.expiresAt !== null && grant.remaining > 0n && !isGrantDead(grant, at) && at >= grant.effectiveAt;
}

/** The totals with one grant's share added (sign 1) or taken out (sign −1). */
function changed(totals: GrantTotals, grant: Grant, sign: 1n | -1n): GrantTotals {
  const at = referenceTime(totals);
  const dead = isGrantDead(grant, at);
  const scheduled = !dead && at < grant.effectiveAt;
  const unreserved = grant.remaining - grant.reserved;
  const count = sign === 1n ? 1 : -1;
  let { balance, held, free, freeByFeature, scheduled: scheduledTotal, deadFree, rolloverDue } = totals;
  if (scheduled) scheduledTotal += sign * grant.remaining;
  else {
    balance += sign * (dead ? grant.reserved : grant.remaining);
    held += sign * grant.reserved;
  }
  if (dead) {
    deadFree += sign * unreserved;
    if (grant.rollover !== undefined && grant.voidedAt === null) rolloverDue += count;
  } else if (!scheduled && unreserved > 0n) {
    if (grant.features === null) free += sign * unreserved;
    else {
      const byFeature = new Map(freeByFeature);
      for (const feature of new Set(grant.features))
        byFeature.set(feature, (byFeature.get(feature) ?? 0n) + sign * unreserved);
      freeByFeature = byFeature;
    }
  }
  return {
    from: totals.from,
    until: totals.until,
    remaining: totals.remaining + sign * grant.remaining,
    spent: totals.spent + (grant.remaining === 0n ? count : 0),
    balance,
    held,
    free,
    freeByFeature,
    scheduled: scheduledTotal,
    deadFree,
    rolloverDue,
    nextExpiry: changedExpiry(totals.nextExpiry, grant, at, sign),
  };
}

function changedExpiry(
  next: GrantTotals['nextExpiry'],
  grant: Grant,
  at: number,
  sign: 1n | -1n,
): GrantTotals['nextExpiry'] {
  if (next === undefined || !countsForExpiry(grant, at)) return next;
  const expiresAt = grant.expiresAt as number;
  if (sign === 1n) {
    if (next === null || expiresAt < next.at) return { at: expiresAt, amount: grant.remaining };
    return expiresAt === next.at ? { at: expiresAt, amount: next.amount + grant.remaining } : next;
  }
  if (next === null || expiresAt !== next.at) return next;
  const amount = next.amount - grant.remaining;
  // The soonest lot is gone: which expiry comes next is counted when it is asked for.
  return amount === 0n ? undefined : { at: expiresAt, amount };
}
