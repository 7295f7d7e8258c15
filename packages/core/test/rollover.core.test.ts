/**
 * Rollover at expiry: settlement moves the capped part of an expired allowance into a rollover lot
 * and expires the rest; rolled credit never rolls again; viewBalance reads the same before
 * settlement has run; settlement conserves value. Then a year of monthly renewals driven through
 * decideSubscriptionDue, decidePlannedGrant, decideDebit and decideSettlement, against hand-computed
 * balances and breakage.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type {
  Accepted,
  DecisionContext,
  Grant,
  Hold,
  PlannedTransaction,
  Refusal,
  Subscription,
  Wallet,
} from '../src/index.ts';
import {
  assertWalletInvariants,
  decideDebit,
  decidePlannedGrant,
  decideSettlement,
  decideSubscriptionDue,
  decideSubscriptionStart,
  emptyWallet,
  viewBalance,
} from '../src/index.ts';
import { allowance, at, iso, lookupOf, planVersion } from './plan-fixture.ts';

const seed = Number(process.env.FC_SEED ?? Math.floor(Math.random() * 2 ** 31));
// biome-ignore lint/suspicious/noConsole: the seed is printed so a failing run replays
console.log(`rollover.core.test seed=${seed} (replay with FC_SEED=${seed})`);

/** Ids are unique across the whole file, as the shell's are: several decisions share one instant here. */
let idCount = 0;
function contextAt(now: number): DecisionContext {
  return { now, nextId: (prefix) => `${prefix}_${String(++idCount).padStart(6, '0')}` };
}

function ok<T>(outcome: Accepted<T> | Refusal): Accepted<T> {
  if (outcome.kind !== 'accepted') assert.fail(`expected acceptance, got ${outcome.code}: ${outcome.detail}`);
  assertWalletInvariants(outcome.wallet);
  return outcome;
}

function lot(fields: Partial<Grant> & Pick<Grant, 'id'>): Grant {
  return {
    amount: 1000n,
    remaining: 1000n,
    reserved: 0n,
    category: 'plan',
    priority: 1,
    effectiveAt: 0,
    expiresAt: 100,
    features: null,
    costBasis: null,
    createdAt: 0,
    voidedAt: null,
    ...fields,
  };
}

function sumEntries(transactions: readonly PlannedTransaction[], account: string): bigint {
  let total = 0n;
  for (const transaction of transactions)
    for (const entry of transaction.entries) if (entry.account === account) total += entry.amount;
  return total;
}

describe('settlement of an expired grant with a rollover plan', () => {
  const settle = (grant: Grant, now = 150) =>
    decideSettlement({ ...emptyWallet('c', 'credits'), grants: [grant] }, contextAt(now));

  it('moves min(unused, cap) into a rollover lot and expires the rest, in one balanced transaction', () => {
    const settled = settle(lot({ id: 'g', remaining: 700n, rollover: { amountMax: 300n, expiresAt: 400 } }));
    const rolled = settled.wallet.grants.find((grant) => grant.category === 'rollover');
    assert.deepEqual(
      [rolled?.amount, rolled?.remaining, rolled?.effectiveAt, rolled?.expiresAt, rolled?.priority, rolled?.rollover],
      [300n, 300n, 100, 400, 1, undefined],
    );
    assert.equal(settled.transactions.length, 1);
    assert.equal(settled.transactions[0]?.kind, 'rollover');
    assert.deepEqual(
      settled.transactions[0]?.entries.map((entry) => [entry.account, entry.amount]),
      [
        ['grant', -700n],
        ['grant', 300n],
        ['expired', 400n],
      ],
    );
    const old = settled.wallet.grants.find((grant) => grant.id === 'g');
    assert.deepEqual([old?.remaining, old?.rollover], [0n, undefined], 'the plan is cleared once decided');
    assert.deepEqual(
      settled.events.map((event) => [event.type, event.data.amount]),
      [
        ['grant.expired', 400n],
        ['grant.created', 300n],
      ],
    );
  });

  it('rolls everything when uncapped; nothing rolls when the cap is zero', () => {
    const all = settle(lot({ id: 'g', remaining: 700n, rollover: { amountMax: null, expiresAt: null } }));
    assert.equal(sumEntries(all.transactions, 'expired'), 0n);
    assert.equal(all.wallet.grants.find((grant) => grant.category === 'rollover')?.amount, 700n);
    const none = settle(lot({ id: 'g', remaining: 700n, rollover: { amountMax: 0n, expiresAt: null } }));
    assert.equal(sumEntries(none.transactions, 'expired'), 700n);
    assert.equal(none.wallet.grants.length, 1);
  });

  it('rolled credit already past its own expiry (long downtime) expires in the same settlement, and never rolls again', () => {
    const settled = settle(lot({ id: 'g', remaining: 700n, rollover: { amountMax: 300n, expiresAt: 120 } }));
    assert.equal(sumEntries(settled.transactions, 'expired'), 700n);
    assert.deepEqual(
      settled.transactions.map((transaction) => transaction.kind),
      ['rollover', 'expire'],
    );
    assert.equal(
      settled.wallet.grants.filter((grant) => grant.category === 'rollover').length,
      1,
      'one lot, not a chain',
    );
    assert.deepEqual(decideSettlement(settled.wallet, contextAt(500)).transactions, []);
  });

  it('credit reserved at expiry does not roll; released later, it simply expires', () => {
    const hold: Hold = {
      id: 'h',
      amount: 600n,
      reservations: [{ grantId: 'g', amount: 600n }],
      feature: null,
      expiresAt: 200,
      createdAt: 50,
    };
    const wallet: Wallet = {
      ...emptyWallet('c', 'credits'),
      grants: [lot({ id: 'g', remaining: 700n, reserved: 600n, rollover: { amountMax: 300n, expiresAt: 400 } })],
      holds: [hold],
    };
    const atExpiry = ok(decideSettlement(wallet, contextAt(150)));
    assert.equal(atExpiry.wallet.grants.find((grant) => grant.category === 'rollover')?.amount, 100n);
    const afterHold = ok(decideSettlement(atExpiry.wallet, contextAt(250)));
    assert.equal(sumEntries(afterHold.transactions, 'expired'), 600n);
    assert.equal(afterHold.wallet.grants.filter((grant) => grant.category === 'rollover').length, 1);
  });

  it('a voided grant never rolls', () => {
    const settled = settle(
      lot({ id: 'g', remaining: 700n, voidedAt: 50, rollover: { amountMax: null, expiresAt: null } }),
    );
    assert.deepEqual(
      settled.transactions.map((transaction) => transaction.kind),
      ['void'],
    );
    assert.equal(
      viewBalance(
        {
          ...emptyWallet('c', 'credits'),
          grants: [lot({ id: 'g', voidedAt: 50, rollover: { amountMax: null, expiresAt: null } })],
        },
        150,
      ).balance,
      0n,
    );
  });
});

// --------------------------------------------------------------------------------------------
// viewBalance agrees with settlement; settlement conserves value.

const grantArbitrary = (id: string) =>
  fc
    .record({
      amount: fc.bigInt({ min: 1n, max: 1000n }),
      usedPercent: fc.integer({ min: 0, max: 100 }),
      reservedPercent: fc.integer({ min: 0, max: 100 }),
      effectiveAt: fc.integer({ min: 0, max: 100 }),
      life: fc.option(fc.integer({ min: 1, max: 100 })),
      voidedAt: fc.option(fc.integer({ min: 0, max: 200 }), { freq: 5 }),
      features: fc.option(fc.constant(['chat'])),
      rollover: fc.option(
        fc.record({
          amountMax: fc.option(fc.bigInt({ min: 0n, max: 1000n })),
          expiresAt: fc.option(fc.integer({ min: 0, max: 300 })),
        }),
      ),
    })
    .map((fields): Grant => {
      const remaining = (fields.amount * BigInt(fields.usedPercent)) / 100n;
      return lot({
        id,
        amount: fields.amount,
        remaining,
        reserved: (remaining * BigInt(fields.reservedPercent)) / 100n,
        effectiveAt: fields.effectiveAt,
        expiresAt: fields.life === null ? null : fields.effectiveAt + fields.life,
        voidedAt: fields.voidedAt,
        features: fields.features,
        ...(fields.rollover === null ? {} : { rollover: fields.rollover }),
      });
    });

/** A wallet whose reserved credit is held by one open hold per grant, still open at `now`. */
function walletOf(grants: readonly Grant[], now: number): Wallet {
  const holds: Hold[] = grants
    .filter((grant) => grant.reserved > 0n)
    .map((grant) => ({
      id: `h_${grant.id}`,
      amount: grant.reserved,
      reservations: [{ grantId: grant.id, amount: grant.reserved }],
      feature: null,
      expiresAt: now + 1,
      createdAt: 0,
    }));
  return { ...emptyWallet('c', 'credits'), grants, holds };
}

function bookedBalance(wallet: Wallet): bigint {
  return wallet.grants.reduce((sum, grant) => sum + grant.remaining, -wallet.debt);
}

describe('viewBalance agrees with settlement', () => {
  it('reads the same before and after settlement, for every feature; settlement conserves value and is idempotent', () => {
    fc.assert(
      fc.property(
        fc
          .array(fc.nat(), { maxLength: 6 })
          .chain((keys) => fc.tuple(...keys.map((_, index) => grantArbitrary(`g${index}`)))),
        fc.integer({ min: 0, max: 400 }),
        (grants, now) => {
          const wallet = walletOf(grants, now);
          assertWalletInvariants(wallet);
          const settled = ok(decideSettlement(wallet, contextAt(now)));
          for (const feature of [null, 'chat', 'image']) {
            assert.deepEqual(
              viewBalance(settled.wallet, now, feature),
              viewBalance(wallet, now, feature),
              `feature ${feature}`,
            );
          }
          const leftBooks = sumEntries(settled.transactions, 'expired') + sumEntries(settled.transactions, 'voided');
          assert.equal(
            bookedBalance(wallet) - bookedBalance(settled.wallet),
            leftBooks,
            'balance before = after + expired + voided',
          );
          for (const transaction of settled.transactions) {
            assert.equal(
              transaction.entries.reduce((sum, entry) => sum + entry.amount, 0n),
              0n,
            );
          }
          assert.deepEqual(
            decideSettlement(settled.wallet, contextAt(now)).transactions,
            [],
            'a second settlement books nothing',
          );
        },
      ),
      { seed, numRuns: 500 },
    );
  });
});

// --------------------------------------------------------------------------------------------
// A year of monthly renewals.

describe('a year of monthly renewals with a capped rollover', () => {
  // 1000 credits a month, unused credit rolls over up to 300 and expires one month after the end of
  // its period. Periods start at midnight on the 31st in Kolkata, so they follow month ends there.
  const plan = planVersion('pro', {
    allowances: [
      allowance({
        amount: 1000n,
        rollover: { kind: 'amount', amountMax: 300n, expiresAfter: { interval: 'month', count: 1 } },
      }),
    ],
  });
  const lookup = lookupOf(plan);
  const usage = [600n, 1200n, 200n, 0n, 1000n, 900n, 700n, 1000n, 0n, 0n, 1250n, 500n];
  // Worked out by hand. Rolled credit of period k expires one month after the period's end, by the
  // wall clock: from Feb 29 that is Mar 29, before period 1 ends (Mar 31); from Mar 31 it is Apr 30,
  // the same instant as the allowance. Either way it is drawn first: soonest expiry first, and on a
  // tie the older credit (a rolled lot keeps the age of the allowance it came from).
  // R = min(unused allowance, 300).
  //   month:                 0     1     2     3     4     5     6     7     8     9    10    11
  //   rolled in:             0   300   100   300   300   300   300   300   300   300   300    50
  //   drawn from rolled:     0   300   100     0   300   300   300   300     0     0   300    50
  //   unused allowance:    400   100   900  1000   300   400   600   300  1000  1000    50   550
  //   rolled out:          300   100   300   300   300   300   300   300   300   300    50   300
  //   breakage at end:     100     0   600  1000     0   100   300     0  1000  1000     0   250
  const balanceAtStart = [1000n, 1300n, 1100n, 1300n, 1300n, 1300n, 1300n, 1300n, 1300n, 1300n, 1300n, 1050n];
  const breakageAtEnd = [100n, 0n, 600n, 1000n, 0n, 100n, 300n, 0n, 1000n, 1000n, 0n, 250n];
  const periodStartsIst = [
    '01-31',
    '02-29',
    '03-31',
    '04-30',
    '05-31',
    '06-30',
    '07-31',
    '08-31',
    '09-30',
    '10-31',
    '11-30',
    '12-31',
  ];

  it('gives the exact balances, rolled credit and breakage month by month', () => {
    const timeZone = 'Asia/Kolkata';
    const startAt = at('2024-01-30T18:30:00Z'); // 2024-01-31 00:00 IST
    const started = decideSubscriptionStart(plan, { id: 'sub', customer: 'c', timeZone, trial: false }, startAt);
    let subscription: Subscription = started.subscription;
    let wallet = emptyWallet('c', 'credits');
    let pending = [...started.grants];
    let breakage = 0n;
    const issue = (now: number) => {
      for (const planned of pending) wallet = ok(decidePlannedGrant(wallet, planned, contextAt(now))).wallet;
      pending = [];
    };
    const settleAt = (now: number) => {
      const settled = ok(decideSettlement(wallet, contextAt(now)));
      assert.deepEqual(viewBalance(wallet, now), viewBalance(settled.wallet, now), 'a read before settlement agrees');
      wallet = settled.wallet;
      return sumEntries(settled.transactions, 'expired');
    };
    issue(startAt);
    for (let month = 0; month < 12; month += 1) {
      const periodStart = subscription.periodStartsAt;
      const local = new Date(periodStart + 5.5 * 3_600_000).toISOString().slice(5, 10);
      assert.equal(local, periodStartsIst[month], `period ${month} starts at midnight on the local month end`);
      if (month > 0)
        assert.equal(settleAt(periodStart), breakageAtEnd[month - 1], `breakage at the end of month ${month - 1}`);
      assert.equal(
        viewBalance(wallet, periodStart).balance,
        balanceAtStart[month],
        `balance at the start of month ${month}`,
      );
      const midMonth = periodStart + 10 * 86_400_000;
      wallet = ok(decideDebit(wallet, { amount: usage[month] as bigint, feature: null }, contextAt(midMonth))).wallet;
      const due = decideSubscriptionDue(subscription, lookup, subscription.periodEndsAt);
      subscription = due.subscription;
      pending = [...due.grants];
      issue(subscription.periodStartsAt);
      breakage += breakageAtEnd[month] as bigint;
    }
    const yearEnd = subscription.periodStartsAt;
    assert.equal(iso(yearEnd), '2025-01-30T18:30:00.000Z');
    assert.equal(settleAt(yearEnd), breakageAtEnd[11]);
    const rolled = wallet.grants.filter((grant) => grant.category === 'rollover');
    assert.deepEqual(
      rolled.map((grant) => grant.amount),
      [300n, 100n, 300n, 300n, 300n, 300n, 300n, 300n, 300n, 300n, 50n, 300n],
    );
    assert.equal(iso(rolled.at(-1)?.expiresAt ?? null), '2025-02-27T18:30:00.000Z', 'Feb 28 2025 midnight IST');
    // 12 allowances plus the pre-issued 13th: 13 000 = 7 350 used + 4 350 breakage + 1 300 left.
    assert.equal(breakage, 4350n);
    assert.equal(viewBalance(wallet, yearEnd).balance, 1300n);
  });
});
