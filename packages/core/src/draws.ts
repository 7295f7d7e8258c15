/**
 * Applying a draw plan to a wallet: consuming credit (grants lose remaining, the overdraft part
 * becomes debt) or reserving it for a hold. Branch-free leaves used by the decisions.
 */
import { grantPosition, replaceGrants } from './grant-index.ts';
import type { PlannedEntry } from './ledger.ts';
import type { Grant, Reservation, Wallet } from './wallet.ts';

/** Returns the wallet with each grant's fields changed by `change`, only for grants named in `byGrant`. */
function updateGrants(
  wallet: Wallet,
  byGrant: ReadonlyMap<string, bigint>,
  change: (grant: Grant, amount: bigint) => Grant,
): Wallet {
  if (byGrant.size === 0) return wallet;
  const replacements = new Map<number, Grant>();
  for (const [grantId, amount] of byGrant) {
    const position = grantPosition(wallet.grants, grantId);
    // A slice naming a grant the wallet does not carry changes nothing, as before the index.
    if (position >= 0) replacements.set(position, change(wallet.grants[position] as Grant, amount));
  }
  return { ...wallet, grants: replaceGrants(wallet.grants, replacements) };
}

function sumByGrant(draws: readonly Reservation[]): { byGrant: Map<string, bigint>; overdraft: bigint } {
  const byGrant = new Map<string, bigint>();
  let overdraft = 0n;
  for (const draw of draws) {
    if (draw.grantId === null) overdraft += draw.amount;
    else byGrant.set(draw.grantId, (byGrant.get(draw.grantId) ?? 0n) + draw.amount);
  }
  return { byGrant, overdraft };
}

/** Consumes unreserved credit: grants lose remaining, the overdraft part becomes debt. */
export function consumeDraws(wallet: Wallet, draws: readonly Reservation[]): Wallet {
  const { byGrant, overdraft } = sumByGrant(draws);
  const consumed = updateGrants(wallet, byGrant, (grant, amount) => ({
    ...grant,
    remaining: grant.remaining - amount,
  }));
  return overdraft === 0n ? consumed : { ...consumed, debt: consumed.debt + overdraft };
}

/** Consumes reserved credit (a capture): grants lose remaining and reserved, reserved overdraft becomes debt. */
export function consumeReservations(wallet: Wallet, reservations: readonly Reservation[]): Wallet {
  const { byGrant, overdraft } = sumByGrant(reservations);
  const consumed = updateGrants(wallet, byGrant, (grant, amount) => ({
    ...grant,
    remaining: grant.remaining - amount,
    reserved: grant.reserved - amount,
  }));
  if (overdraft === 0n) return consumed;
  return { ...consumed, debt: consumed.debt + overdraft, debtReserved: consumed.debtReserved - overdraft };
}

export function reserveDraws(wallet: Wallet, draws: readonly Reservation[]): Wallet {
  return shiftReserved(wallet, draws, 1n);
}

export function unreserve(wallet: Wallet, reservations: readonly Reservation[]): Wallet {
  return shiftReserved(wallet, reservations, -1n);
}

function shiftReserved(wallet: Wallet, reservations: readonly Reservation[], sign: bigint): Wallet {
  const { byGrant, overdraft } = sumByGrant(reservations);
  const shifted = updateGrants(wallet, byGrant, (grant, amount) => ({
    ...grant,
    reserved: grant.reserved + sign * amount,
  }));
  return overdraft === 0n ? shifted : { ...shifted, debtReserved: shifted.debtReserved + sign * overdraft };
}

/** Ledger entries taking `draws` out of the wallet (grant lots and the debt account). */
export function entriesFromDraws(draws: readonly Reservation[]): PlannedEntry[] {
  return draws.map((draw) =>
    draw.grantId === null
      ? { account: 'debt', grantId: null, amount: -draw.amount }
      : { account: 'grant', grantId: draw.grantId, amount: -draw.amount },
  );
}

/** Splits reservations into the first `amount` (in order) and the rest. */
export function splitReservations(
  reservations: readonly Reservation[],
  amount: bigint,
): { taken: Reservation[]; rest: Reservation[] } {
  const taken: Reservation[] = [];
  const rest: Reservation[] = [];
  let left = amount;
  for (const reservation of reservations) {
    const take = reservation.amount < left ? reservation.amount : left;
    if (take > 0n) taken.push({ grantId: reservation.grantId, amount: take });
    if (reservation.amount - take > 0n) rest.push({ grantId: reservation.grantId, amount: reservation.amount - take });
    left -= take;
  }
  return { taken, rest };
}

export function sumAmounts(slices: readonly { readonly amount: bigint }[]): bigint {
  let total = 0n;
  for (const slice of slices) total += slice.amount;
  return total;
}
