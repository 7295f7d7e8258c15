import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { splitReservations } from '../src/draws.ts';
import type {
  Accepted,
  DecisionContext,
  GrantCategory,
  GrantRequest,
  OrderKey,
  PlannedTransaction,
  Refusal,
  ReversibleTransaction,
  Wallet,
} from '../src/index.ts';
import {
  assertWalletInvariants,
  decideCapture,
  decideCheck,
  decideDebit,
  decideExtend,
  decideGrant,
  decideHold,
  decideNegativeAdjustment,
  decidePolicy,
  decideRelease,
  decideReversal,
  decideSettlement,
  decideVoid,
  emptyWallet,
  grantCategories,
  viewBalance,
} from '../src/index.ts';

const seed = Number(process.env.FC_SEED ?? Math.floor(Math.random() * 2 ** 31));
// biome-ignore lint/suspicious/noConsole: the seed is printed so a failing run replays
console.log(`decisions.core.test seed=${seed} (replay with FC_SEED=${seed})`);

function contextAt(now: number): DecisionContext {
  let n = 0;
  return { now, nextId: (prefix) => `${prefix}_${now}_${String(++n).padStart(4, '0')}` };
}

function ok<T>(outcome: Accepted<T> | Refusal): Accepted<T> {
  if (outcome.kind !== 'accepted') assert.fail(`expected acceptance, got ${outcome.code}: ${outcome.detail}`);
  for (const transaction of outcome.transactions) assertBalanced(transaction);
  assertWalletInvariants(outcome.wallet);
  return outcome;
}

function refused(outcome: { kind: string }, code: string): void {
  assert.equal(outcome.kind, 'refused');
  assert.equal((outcome as Refusal).code, code);
  assert.equal('wallet' in outcome, false, 'a refusal carries no wallet');
}

function assertBalanced(transaction: PlannedTransaction): void {
  assert.equal(
    transaction.entries.reduce((sum, entry) => sum + entry.amount, 0n),
    0n,
    `${transaction.kind} entries sum to zero`,
  );
}

const baseGrant: GrantRequest = {
  amount: 100n,
  category: 'paid',
  priority: 0,
  effectiveAt: null,
  expiresAt: null,
  features: null,
  costBasis: null,
  reason: null,
  source: 'issuance',
};

function grant(wallet: Wallet, now: number, overrides: Partial<GrantRequest> = {}): { wallet: Wallet; id: string } {
  const outcome = ok(decideGrant(wallet, { ...baseGrant, ...overrides }, contextAt(now)));
  return { wallet: outcome.wallet, id: outcome.result.grant.id };
}

function withPolicy(wallet: Wallet, change: Parameters<typeof decidePolicy>[1]): Wallet {
  const outcome = decidePolicy(wallet, change);
  assert.equal(outcome.kind, 'accepted');
  return (outcome as { wallet: Wallet }).wallet;
}

function remainingOf(wallet: Wallet, id: string): bigint {
  return wallet.grants.find((lot) => lot.id === id)?.remaining ?? -1n;
}

function reversible(
  transaction: PlannedTransaction,
  draws: ReversibleTransaction['draws'],
  reversedAmount = 0n,
): ReversibleTransaction {
  return { id: transaction.id, kind: transaction.kind, amount: transaction.amount, draws, reversedAmount };
}

describe('consumption order', () => {
  // Three lots: A priority 1; B priority 0 expiring at 500; C priority 0 never expiring; D priority 0 expiring at 300 but newer.
  function fourLots(order?: readonly OrderKey[]) {
    let wallet = emptyWallet('cus', 'credits');
    if (order) wallet = withPolicy(wallet, { consumptionOrder: order });
    const a = grant(wallet, 10, {
      amount: 10n,
      priority: 1,
      category: 'paid',
      costBasis: { currency: 'usd', total: { units: 5n, scale: 0 } },
    });
    const b = grant(a.wallet, 20, { amount: 10n, expiresAt: 500, category: 'promotional' });
    const c = grant(b.wallet, 30, {
      amount: 10n,
      category: 'paid',
      costBasis: { currency: 'usd', total: { units: 20n, scale: 0 } },
    });
    const d = grant(c.wallet, 40, { amount: 10n, expiresAt: 300, category: 'trial' });
    return { wallet: d.wallet, ids: { a: a.id, b: b.id, c: c.id, d: d.id } };
  }
  const table: [string, readonly OrderKey[] | undefined, string[]][] = [
    ['default: priority, soonest expiry, oldest', undefined, ['d', 'b', 'c', 'a']],
    ['FIFO', ['created_at'], ['a', 'b', 'c', 'd']],
    ['LIFO', ['created_at_desc'], ['d', 'c', 'b', 'a']],
    ['expiry first, then priority', ['expires_at', 'priority'], ['d', 'b', 'c', 'a']],
    ['promotional first, then FIFO', ['promotional_first', 'created_at'], ['b', 'a', 'c', 'd']],
    ['trial first, then priority', ['trial_first', 'priority'], ['d', 'b', 'c', 'a']],
    ['paid first, then FIFO', ['paid_first'], ['a', 'c', 'b', 'd']],
    ['cheapest cost basis first', ['cost_basis'], ['b', 'd', 'a', 'c']],
    ['dearest cost basis first', ['cost_basis_desc'], ['c', 'a', 'b', 'd']],
  ];
  for (const [name, order, expected] of table) {
    it(name, () => {
      const { wallet, ids } = fourLots(order);
      const outcome = ok(decideDebit(wallet, { amount: 40n, feature: null }, contextAt(100)));
      const byId = Object.fromEntries(Object.entries(ids).map(([letter, id]) => [id, letter]));
      assert.deepEqual(
        outcome.result.draws.map((draw) => byId[draw.grantId ?? '']),
        expected,
      );
      assert.ok(outcome.result.draws.every((draw) => draw.amount === 10n));
    });
  }
  it('records partial draws across lots and the dry run explains the same plan', () => {
    const { wallet, ids } = fourLots();
    const check = decideCheck(wallet, { amount: 15n, feature: null }, 100);
    assert.equal(check.allowed, true);
    assert.deepEqual(check.draws, [
      { grantId: ids.d, amount: 10n },
      { grantId: ids.b, amount: 5n },
    ]);
    assert.deepEqual(
      check.explanation.map((line) => line.rank),
      [1, 2, 3, 4],
    );
    const debit = ok(decideDebit(wallet, { amount: 15n, feature: null }, contextAt(100)));
    assert.deepEqual(debit.result.draws, check.draws);
    assert.equal(remainingOf(debit.wallet, ids.b), 5n);
  });
});

describe('category order keys mean exactly their category', () => {
  // One lot per category, created oldest to newest in catalogue order, so a key that did not
  // single out its category would leave FIFO order untouched.
  function oneLotPerCategory(order: readonly OrderKey[]) {
    let wallet = withPolicy(emptyWallet('cus', 'credits'), { consumptionOrder: order });
    const categoryOf = new Map<string, GrantCategory>();
    grantCategories.forEach((category, index) => {
      const lot = grant(wallet, 10 + index, { amount: 10n, category });
      wallet = lot.wallet;
      categoryOf.set(lot.id, category);
    });
    return { wallet, categoryOf };
  }
  function drawnCategories(order: readonly OrderKey[]): GrantCategory[] {
    const { wallet, categoryOf } = oneLotPerCategory(order);
    const outcome = ok(
      decideDebit(wallet, { amount: 10n * BigInt(grantCategories.length), feature: null }, contextAt(100)),
    );
    return outcome.result.draws.map((draw) => categoryOf.get(draw.grantId ?? '') as GrantCategory);
  }
  it('promotional credit first, then plan credit: the promotional grant is spent first', () => {
    let wallet = withPolicy(emptyWallet('cus', 'credits'), { consumptionOrder: ['promotional_first', 'created_at'] });
    const plan = grant(wallet, 10, { amount: 100n, category: 'plan' });
    wallet = plan.wallet;
    const promotional = grant(wallet, 20, { amount: 30n, category: 'promotional' });
    const debit = ok(decideDebit(promotional.wallet, { amount: 40n, feature: null }, contextAt(100)));
    assert.deepEqual(debit.result.draws, [
      { grantId: promotional.id, amount: 30n },
      { grantId: plan.id, amount: 10n },
    ]);
  });
  for (const category of grantCategories) {
    it(`${category}_first puts ${category} credit first and leaves the others in FIFO order`, () => {
      const others = grantCategories.filter((other) => other !== category);
      assert.deepEqual(drawnCategories([`${category}_first`, 'created_at']), [category, ...others]);
    });
  }
  it('category keys chain: promotional, then plan, then the rest oldest first', () => {
    const rest = grantCategories.filter((category) => category !== 'promotional' && category !== 'plan');
    assert.deepEqual(drawnCategories(['promotional_first', 'plan_first', 'created_at']), [
      'promotional',
      'plan',
      ...rest,
    ]);
  });
  it('property: under <category>_first every draw of that category precedes every other draw', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...grantCategories),
        fc.array(
          fc.record({ category: fc.constantFrom(...grantCategories), priority: fc.integer({ min: 0, max: 3 }) }),
          {
            minLength: 1,
            maxLength: 8,
          },
        ),
        (first, lots) => {
          let wallet = withPolicy(emptyWallet('cus', 'credits'), {
            consumptionOrder: [`${first}_first`, 'priority', 'created_at'],
          });
          const categoryOf = new Map<string, GrantCategory>();
          lots.forEach((lot, index) => {
            const granted = grant(wallet, index, { amount: 5n, category: lot.category, priority: lot.priority });
            wallet = granted.wallet;
            categoryOf.set(granted.id, lot.category);
          });
          const debit = ok(decideDebit(wallet, { amount: 5n * BigInt(lots.length), feature: null }, contextAt(100)));
          const isFirst = debit.result.draws.map((draw) => categoryOf.get(draw.grantId ?? '') === first);
          assert.deepEqual(
            isFirst,
            [...isFirst].sort((a, b) => (a === b ? 0 : a ? -1 : 1)),
          );
        },
      ),
      { seed },
    );
  });
});

describe('usable grants: feature restriction and [effective_at, expires_at)', () => {
  it('restricted credit pays only for its features', () => {
    const restricted = grant(emptyWallet('cus', 'credits'), 0, { amount: 50n, features: ['chat'] });
    refused(decideDebit(restricted.wallet, { amount: 1n, feature: 'image' }, contextAt(1)), 'insufficient_balance');
    refused(decideDebit(restricted.wallet, { amount: 1n, feature: null }, contextAt(1)), 'insufficient_balance');
    const debit = ok(decideDebit(restricted.wallet, { amount: 50n, feature: 'chat' }, contextAt(1)));
    assert.equal(remainingOf(debit.wallet, restricted.id), 0n);
    const check = decideCheck(restricted.wallet, { amount: 1n, feature: 'image' }, 1);
    assert.equal(check.explanation[0]?.unusable, 'restricted_to_other_features');
  });
  const boundaries: [string, number, boolean][] = [
    ['before effective_at', 99, false],
    ['at effective_at', 100, true],
    ['just before expires_at', 199, true],
    ['at expires_at', 200, false],
    ['after expires_at', 250, false],
  ];
  for (const [name, now, usable] of boundaries) {
    it(`${name} (t=${now}) the grant is ${usable ? '' : 'not '}usable`, () => {
      const lot = grant(emptyWallet('cus', 'credits'), 0, { amount: 10n, effectiveAt: 100, expiresAt: 200 });
      const outcome = decideDebit(lot.wallet, { amount: 10n, feature: null }, contextAt(now));
      if (usable) ok(outcome);
      else refused(outcome, 'insufficient_balance');
      const view = viewBalance(lot.wallet, now);
      assert.equal(view.available, usable ? 10n : 0n);
      assert.equal(view.scheduled, now < 100 ? 10n : 0n);
    });
  }
  it('refuses a grant that would expire before it starts', () => {
    refused(
      decideGrant(emptyWallet('c', 'a'), { ...baseGrant, effectiveAt: 100, expiresAt: 100 }, contextAt(0)),
      'validation_failed',
    );
    refused(decideGrant(emptyWallet('c', 'a'), { ...baseGrant, expiresAt: 5 }, contextAt(5)), 'validation_failed');
  });
  it('refuses a grant that would overflow the wallet', () => {
    const big = grant(emptyWallet('c', 'a'), 0, { amount: 2n ** 63n - 1n });
    refused(decideGrant(big.wallet, { ...baseGrant, amount: 1n }, contextAt(1)), 'amount_overflow');
  });
});

describe('overdraft, debt and repayment', () => {
  it('a debit may go negative within the limit, not beyond', () => {
    const wallet = withPolicy(grant(emptyWallet('c', 'a'), 0, { amount: 10n }).wallet, { overdraftLimit: 5n });
    refused(decideDebit(wallet, { amount: 16n, feature: null }, contextAt(1)), 'insufficient_balance');
    const debit = ok(decideDebit(wallet, { amount: 15n, feature: null }, contextAt(1)));
    assert.equal(debit.wallet.debt, 5n);
    assert.deepEqual(debit.result.draws.at(-1), { grantId: null, amount: 5n });
    assert.ok(debit.events.some((event) => event.type === 'debt.created'));
    assert.equal(viewBalance(debit.wallet, 1).balance, -5n);
    assert.equal(viewBalance(debit.wallet, 1).available, 0n);
  });
  it('a policy cannot lower the limit below debt plus overdraft reserved', () => {
    const wallet = withPolicy(emptyWallet('c', 'a'), { overdraftLimit: 10n });
    const debt = ok(decideDebit(wallet, { amount: 4n, feature: null }, contextAt(1))).wallet;
    const held = ok(decideHold(debt, { amount: 3n, feature: null, expiresAt: 100 }, contextAt(1))).wallet;
    refused(decidePolicy(held, { overdraftLimit: 6n }), 'overdraft_limit_below_debt');
    assert.equal(decidePolicy(held, { overdraftLimit: 7n }).kind, 'accepted');
  });
  const repayment: [string, Partial<GrantRequest>, bigint, bigint][] = [
    ['unrestricted, effective now: repays first', {}, 0n, 92n],
    ['smaller than the debt: all of it repays', { amount: 5n }, 3n, 0n],
    ['restricted to features: does not repay', { features: ['chat'] }, 8n, 100n],
    ['effective later: does not repay', { effectiveAt: 50 }, 8n, 100n],
  ];
  for (const [name, overrides, debtAfter, remaining] of repayment) {
    it(`a new grant ${name}`, () => {
      const wallet = withPolicy(emptyWallet('c', 'a'), { overdraftLimit: 10n });
      const indebted = ok(decideDebit(wallet, { amount: 8n, feature: null }, contextAt(1))).wallet;
      const outcome = ok(decideGrant(indebted, { ...baseGrant, ...overrides }, contextAt(2)));
      assert.equal(outcome.wallet.debt, debtAfter);
      assert.equal(outcome.result.grant.remaining, remaining);
      assert.equal(outcome.result.debtRepaid, 8n - debtAfter);
    });
  }
  it('repayDebtFirst=false leaves the debt', () => {
    const wallet = withPolicy(emptyWallet('c', 'a'), { overdraftLimit: 10n, repayDebtFirst: false });
    const indebted = ok(decideDebit(wallet, { amount: 8n, feature: null }, contextAt(1))).wallet;
    assert.equal(ok(decideGrant(indebted, baseGrant, contextAt(2))).wallet.debt, 8n);
  });
  it('a negative adjustment obeys the same floor and books against adjustment', () => {
    const wallet = grant(emptyWallet('c', 'a'), 0, { amount: 10n }).wallet;
    refused(decideNegativeAdjustment(wallet, { amount: 11n, reason: 'x' }, contextAt(1)), 'insufficient_balance');
    const adjust = ok(decideNegativeAdjustment(wallet, { amount: 10n, reason: 'x' }, contextAt(1)));
    assert.equal(adjust.transactions[0]?.kind, 'adjust');
    assert.ok(adjust.transactions[0]?.entries.some((entry) => entry.account === 'adjustment' && entry.amount === 10n));
  });
  it('a positive adjustment is a grant booked against adjustment', () => {
    const outcome = ok(
      decideGrant(
        emptyWallet('c', 'a'),
        { ...baseGrant, category: 'adjustment', source: 'adjustment', reason: 'goodwill' },
        contextAt(0),
      ),
    );
    assert.equal(outcome.transactions[0]?.kind, 'adjust');
    assert.deepEqual(outcome.transactions[0]?.entries[0], { account: 'adjustment', grantId: null, amount: -100n });
  });
});

describe('holds', () => {
  function heldWallet() {
    const first = grant(emptyWallet('c', 'a'), 0, { amount: 10n, expiresAt: 100 });
    const second = grant(first.wallet, 1, { amount: 20n });
    const hold = ok(decideHold(second.wallet, { amount: 15n, feature: null, expiresAt: 500 }, contextAt(2)));
    return { wallet: hold.wallet, holdId: hold.result.hold.id, first: first.id, second: second.id, hold };
  }
  it('reserves from specific grants, records an entry-less transaction, and lowers available', () => {
    const { wallet, hold, first, second } = heldWallet();
    assert.deepEqual(hold.result.hold.reservations, [
      { grantId: first, amount: 10n },
      { grantId: second, amount: 5n },
    ]);
    assert.equal(hold.transactions[0]?.kind, 'hold');
    assert.deepEqual(hold.transactions[0]?.entries, []);
    const view = viewBalance(wallet, 3);
    assert.deepEqual([view.balance, view.held, view.available], [30n, 15n, 15n]);
    refused(decideHold(wallet, { amount: 16n, feature: null, expiresAt: 500 }, contextAt(3)), 'insufficient_balance');
  });
  const captures: [string, bigint | null, 'draw' | 'refuse', string | null, bigint, bigint][] = [
    ['less than held', 6n, 'refuse', null, 24n, 9n],
    ['equal to held (default)', null, 'refuse', null, 15n, 0n],
    ['more than held, on_excess=draw', 20n, 'draw', null, 10n, 0n],
    ['more than held, on_excess=refuse', 20n, 'refuse', 'capture_exceeds_hold', 30n, 0n],
    ['more than anything available', 31n, 'draw', 'insufficient_balance', 30n, 0n],
  ];
  for (const [name, amount, onExcess, code, remainingAfter, released] of captures) {
    it(`capture ${name}`, () => {
      const { wallet, holdId } = heldWallet();
      const outcome = decideCapture(wallet, holdId, { amount, onExcess }, contextAt(3));
      if (code !== null) return refused(outcome, code);
      const accepted = ok(outcome);
      assert.equal(accepted.result.released, released);
      assert.equal(accepted.wallet.holds.length, 0);
      assert.equal(viewBalance(accepted.wallet, 3).held, 0n);
      assert.equal(viewBalance(accepted.wallet, 3).balance, remainingAfter);
      assert.deepEqual(
        accepted.holdsEnded.map((ending) => ending.status),
        ['captured'],
      );
      refused(
        decideCapture(accepted.wallet, holdId, { amount: null, onExcess: 'refuse' }, contextAt(4)),
        'hold_not_open',
      );
    });
  }
  it('release frees the reservation and ends the hold once', () => {
    const { wallet, holdId } = heldWallet();
    const release = ok(decideRelease(wallet, holdId, contextAt(3)));
    assert.deepEqual(release.transactions[0]?.entries, []);
    assert.equal(viewBalance(release.wallet, 3).available, 30n);
    refused(decideRelease(release.wallet, holdId, contextAt(4)), 'hold_not_open');
  });
  it('extend adds amount and a later expiry; an earlier expiry is refused', () => {
    const { wallet, holdId } = heldWallet();
    refused(decideExtend(wallet, holdId, { additionalAmount: 0n, expiresAt: 400 }, contextAt(3)), 'validation_failed');
    refused(
      decideExtend(wallet, holdId, { additionalAmount: 16n, expiresAt: null }, contextAt(3)),
      'insufficient_balance',
    );
    const extended = ok(decideExtend(wallet, holdId, { additionalAmount: 5n, expiresAt: 900 }, contextAt(3)));
    assert.equal(extended.result.hold.amount, 20n);
    assert.equal(extended.result.hold.expiresAt, 900);
    assert.equal(viewBalance(extended.wallet, 3).held, 20n);
  });
  it('reserved credit stays capturable after its grant expires; the rest expires on time', () => {
    const lot = grant(emptyWallet('c', 'a'), 0, { amount: 10n, expiresAt: 100 });
    const hold = ok(decideHold(lot.wallet, { amount: 4n, feature: null, expiresAt: 500 }, contextAt(1)));
    const settled = decideSettlement(hold.wallet, contextAt(150));
    assert.deepEqual(
      settled.transactions.map((t) => [t.kind, t.amount]),
      [['expire', 6n]],
    );
    assert.equal(remainingOf(settled.wallet, lot.id), 4n);
    assert.equal(viewBalance(settled.wallet, 150).balance, 4n);
    const capture = ok(
      decideCapture(settled.wallet, hold.result.hold.id, { amount: 3n, onExcess: 'refuse' }, contextAt(150)),
    );
    // The released 1 belongs to a dead grant: settlement books it expired at once.
    const after = decideSettlement(capture.wallet, contextAt(150));
    assert.deepEqual(
      after.transactions.map((t) => [t.kind, t.amount]),
      [['expire', 1n]],
    );
    assert.equal(remainingOf(after.wallet, lot.id), 0n);
  });
  it('an expired hold ends by settlement with hold.expired', () => {
    const { wallet, holdId } = heldWallet();
    const settled = decideSettlement(wallet, contextAt(500));
    assert.deepEqual(
      settled.holdsEnded.map((ending) => [ending.holdId, ending.status]),
      [[holdId, 'expired']],
    );
    assert.ok(settled.events.some((event) => event.type === 'hold.expired'));
    refused(
      decideCapture(settled.wallet, holdId, { amount: null, onExcess: 'refuse' }, contextAt(500)),
      'hold_not_open',
    );
  });
  it('a hold may reserve overdraft', () => {
    const wallet = withPolicy(emptyWallet('c', 'a'), { overdraftLimit: 10n });
    const hold = ok(decideHold(wallet, { amount: 7n, feature: null, expiresAt: 50 }, contextAt(1)));
    assert.equal(hold.wallet.debtReserved, 7n);
    const capture = ok(
      decideCapture(hold.wallet, hold.result.hold.id, { amount: 5n, onExcess: 'refuse' }, contextAt(2)),
    );
    assert.deepEqual([capture.wallet.debt, capture.wallet.debtReserved], [5n, 0n]);
  });
});

describe('void', () => {
  it('moves the unreserved remainder out and keeps reserved credit capturable', () => {
    const lot = grant(emptyWallet('c', 'a'), 0, { amount: 10n });
    const hold = ok(decideHold(lot.wallet, { amount: 4n, feature: null, expiresAt: 500 }, contextAt(1)));
    const voided = ok(decideVoid(hold.wallet, lot.id, 'fraud', contextAt(2)));
    assert.deepEqual(voided.transactions[0]?.entries, [
      { account: 'grant', grantId: lot.id, amount: -6n },
      { account: 'voided', grantId: null, amount: 6n },
    ]);
    assert.equal(remainingOf(voided.wallet, lot.id), 4n);
    refused(decideVoid(voided.wallet, lot.id, 'again', contextAt(3)), 'grant_voided');
    refused(decideVoid(voided.wallet, 'grt_missing', 'x', contextAt(3)), 'grant_not_found');
    refused(decideDebit(voided.wallet, { amount: 1n, feature: null }, contextAt(3)), 'insufficient_balance');
    const release = ok(decideRelease(voided.wallet, hold.result.hold.id, contextAt(3)));
    const settled = decideSettlement(release.wallet, contextAt(3));
    assert.deepEqual(
      settled.transactions.map((t) => [t.kind, t.amount]),
      [['void', 4n]],
    );
  });
});

describe('reversals', () => {
  function drawnTwice() {
    const a = grant(emptyWallet('c', 'a'), 0, { amount: 10n, priority: 0 });
    const b = grant(a.wallet, 1, { amount: 10n, priority: 1 });
    const debit = ok(decideDebit(b.wallet, { amount: 15n, feature: null }, contextAt(2)));
    return {
      wallet: debit.wallet,
      a: a.id,
      b: b.id,
      original: reversible(debit.result.transaction, debit.result.draws),
    };
  }
  it('returns credit last drawn first', () => {
    const { wallet, a, b, original } = drawnTwice();
    const reversal = ok(decideReversal(wallet, original, { amount: 7n, reason: 'refund' }, contextAt(3)));
    assert.deepEqual(reversal.result.returns, [
      { grantId: b, amount: 5n },
      { grantId: a, amount: 2n },
    ]);
    assert.equal(reversal.transactions[0]?.reversesId, original.id);
    assert.deepEqual([remainingOf(reversal.wallet, a), remainingOf(reversal.wallet, b)], [2n, 10n]);
  });
  it('partial reversals add up to the original and no further', () => {
    let { wallet, a, b, original } = drawnTwice();
    let reversed = 0n;
    for (const part of [4n, 6n, 5n]) {
      const outcome = ok(
        decideReversal(wallet, { ...original, reversedAmount: reversed }, { amount: part, reason: 'r' }, contextAt(3)),
      );
      wallet = outcome.wallet;
      reversed += part;
    }
    assert.deepEqual([remainingOf(wallet, a), remainingOf(wallet, b)], [10n, 10n]);
    refused(
      decideReversal(wallet, { ...original, reversedAmount: reversed }, { amount: 1n, reason: 'r' }, contextAt(3)),
      'reversal_exceeds_remaining',
    );
    const again = decideReversal(
      wallet,
      { ...original, reversedAmount: reversed },
      { amount: null, reason: 'r' },
      contextAt(3),
    );
    refused(again, 'reversal_exceeds_remaining');
    assert.deepEqual((again as Refusal).facts, { requested: original.amount, remaining: 0n }, 'asked: all of it');
    const beyond = decideReversal(
      wallet,
      { ...original, reversedAmount: 10n },
      { amount: 6n, reason: 'r' },
      contextAt(3),
    );
    refused(beyond, 'reversal_exceeds_remaining');
    assert.deepEqual((beyond as Refusal).facts, { requested: 6n, remaining: 5n });
  });
  it('only debits, captures and adjustments are reversible', () => {
    const lot = ok(decideGrant(emptyWallet('c', 'a'), baseGrant, contextAt(0)));
    refused(
      decideReversal(lot.wallet, reversible(lot.result.transaction, []), { amount: null, reason: 'r' }, contextAt(1)),
      'transaction_not_reversible',
    );
  });
  it('overdraft credit returns as debt paid, or as a refund grant when the debt was repaid since', () => {
    const wallet = withPolicy(grant(emptyWallet('c', 'a'), 0, { amount: 5n }).wallet, { overdraftLimit: 10n });
    const debit = ok(decideDebit(wallet, { amount: 12n, feature: null }, contextAt(1)));
    assert.equal(debit.wallet.debt, 7n);
    const original = reversible(debit.result.transaction, debit.result.draws);
    // Debt still owed: returning it pays the debt down.
    const direct = ok(decideReversal(debit.wallet, original, { amount: 3n, reason: 'r' }, contextAt(2)));
    assert.equal(direct.wallet.debt, 4n);
    assert.equal(direct.result.refundGrant, null);
    // Debt repaid meanwhile by a top-up: the overdraft part comes back as a new lot.
    const repaid = ok(decideGrant(debit.wallet, { ...baseGrant, amount: 7n }, contextAt(2))).wallet;
    assert.equal(repaid.debt, 0n);
    const refund = ok(decideReversal(repaid, original, { amount: null, reason: 'r' }, contextAt(3)));
    assert.equal(refund.result.refundGrant?.amount, 7n);
    assert.equal(refund.result.refundGrant?.category, 'adjustment');
    assert.equal(viewBalance(refund.wallet, 3).balance, 12n);
  });
  it('credit returned to an expired grant is booked as expired by settlement', () => {
    const lot = grant(emptyWallet('c', 'a'), 0, { amount: 10n, expiresAt: 100 });
    const debit = ok(decideDebit(lot.wallet, { amount: 4n, feature: null }, contextAt(1)));
    const reversal = ok(
      decideReversal(
        decideSettlement(debit.wallet, contextAt(200)).wallet,
        reversible(debit.result.transaction, debit.result.draws),
        { amount: null, reason: 'r' },
        contextAt(200),
      ),
    );
    const settled = decideSettlement(reversal.wallet, contextAt(200));
    assert.deepEqual(
      settled.transactions.map((t) => [t.kind, t.amount]),
      [['expire', 4n]],
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Properties over random command sequences.

type Command =
  | { op: 'grant'; amount: bigint; features: 'a' | null; delay: number; ttl: number | null; priority: number }
  | { op: 'debit'; amount: bigint; feature: 'a' | 'b' | null }
  | { op: 'adjustDown'; amount: bigint }
  | { op: 'hold'; amount: bigint; feature: 'a' | 'b' | null; ttl: number }
  | { op: 'capture'; pick: number; amount: bigint | null; onExcess: 'draw' | 'refuse' }
  | { op: 'release'; pick: number }
  | { op: 'extend'; pick: number; amount: bigint; later: number }
  | { op: 'reverse'; pick: number; amount: bigint | null }
  | { op: 'void'; pick: number }
  | { op: 'advance'; by: number };

const amount = fc.bigInt(1n, 60n);
const feature = fc.constantFrom<'a' | 'b' | null>('a', 'b', null);
const commandArb: fc.Arbitrary<Command> = fc.oneof(
  fc.record({
    op: fc.constant('grant' as const),
    amount,
    features: fc.constantFrom<'a' | null>('a', null),
    delay: fc.constantFrom(0, 0, 5, 20),
    ttl: fc.constantFrom<number | null>(null, 10, 30, 100),
    priority: fc.integer({ min: 0, max: 2 }),
  }),
  fc.record({ op: fc.constant('debit' as const), amount, feature }),
  fc.record({ op: fc.constant('adjustDown' as const), amount }),
  fc.record({ op: fc.constant('hold' as const), amount, feature, ttl: fc.integer({ min: 1, max: 40 }) }),
  fc.record({
    op: fc.constant('capture' as const),
    pick: fc.nat(),
    amount: fc.option(amount, { nil: null }),
    onExcess: fc.constantFrom<'draw' | 'refuse'>('draw', 'refuse'),
  }),
  fc.record({ op: fc.constant('release' as const), pick: fc.nat() }),
  fc.record({
    op: fc.constant('extend' as const),
    pick: fc.nat(),
    amount: fc.bigInt(0n, 30n),
    later: fc.integer({ min: 0, max: 20 }),
  }),
  fc.record({ op: fc.constant('reverse' as const), pick: fc.nat(), amount: fc.option(amount, { nil: null }) }),
  fc.record({ op: fc.constant('void' as const), pick: fc.nat() }),
  fc.record({ op: fc.constant('advance' as const), by: fc.integer({ min: 1, max: 25 }) }),
);

function pick<T>(items: readonly T[], index: number): T | undefined {
  return items.length === 0 ? undefined : items[index % items.length];
}

describe('properties over random command sequences', () => {
  it('keep every wallet invariant after every step', () => {
    fc.assert(
      fc.property(
        fc.bigInt(0n, 40n),
        fc.array(commandArb, { minLength: 1, maxLength: 60 }),
        (overdraftLimit, commands) => {
          let now = 1000;
          let wallet = withPolicy(emptyWallet('cus', 'credits'), { overdraftLimit });
          let booked = 0n; // Σ entries on the wallet's grant-lot and debt accounts (the debt account runs negative)
          const reversibles: ReversibleTransaction[] = [];
          let step = 0;
          const ctx = () => ({ now, nextId: (prefix: 'txn' | 'grt' | 'hold') => `${prefix}_${now}_${++step}` });

          const checkDrawsUsable = (
            before: Wallet,
            draws: readonly { grantId: string | null }[],
            feature: string | null,
          ) => {
            for (const draw of draws) {
              if (draw.grantId === null) continue;
              const lot = before.grants.find((g) => g.id === draw.grantId);
              assert.ok(lot, 'draws name a loaded grant');
              assert.ok(lot.effectiveAt <= now, 'no draw before effective_at');
              assert.ok(lot.expiresAt === null || now < lot.expiresAt, 'no draw at or after expires_at');
              assert.equal(lot.voidedAt, null, 'no draw from a voided grant');
              assert.ok(
                lot.features === null || (feature !== null && lot.features.includes(feature)),
                'no draw for another feature',
              );
            }
          };

          const apply = (outcome: Accepted<unknown> | Refusal): boolean => {
            if (outcome.kind === 'refused') {
              assert.equal('wallet' in outcome, false, 'a refusal returns no new wallet');
              return false;
            }
            for (const transaction of outcome.transactions) {
              assertBalanced(transaction);
              for (const entry of transaction.entries)
                if (entry.account === 'grant' || entry.account === 'debt') booked += entry.amount;
            }
            wallet = outcome.wallet;
            return true;
          };

          const settle = () => apply(decideSettlement(wallet, ctx()));

          for (const command of commands) {
            settle();
            const before = wallet;
            switch (command.op) {
              case 'grant':
                apply(
                  decideGrant(
                    wallet,
                    {
                      ...baseGrant,
                      amount: command.amount,
                      priority: command.priority,
                      features: command.features ? [command.features] : null,
                      effectiveAt: now + command.delay,
                      expiresAt: command.ttl === null ? null : now + command.delay + command.ttl,
                    },
                    ctx(),
                  ),
                );
                break;
              case 'debit': {
                const outcome = decideDebit(wallet, { amount: command.amount, feature: command.feature }, ctx());
                if (apply(outcome) && outcome.kind === 'accepted') {
                  checkDrawsUsable(before, outcome.result.draws, command.feature);
                  reversibles.push(reversible(outcome.result.transaction, outcome.result.draws));
                }
                break;
              }
              case 'adjustDown': {
                const outcome = decideNegativeAdjustment(wallet, { amount: command.amount, reason: 'test' }, ctx());
                if (apply(outcome) && outcome.kind === 'accepted') {
                  checkDrawsUsable(before, outcome.result.draws, null);
                  reversibles.push(reversible(outcome.result.transaction, outcome.result.draws));
                }
                break;
              }
              case 'hold': {
                const outcome = decideHold(
                  wallet,
                  { amount: command.amount, feature: command.feature, expiresAt: now + command.ttl },
                  ctx(),
                );
                if (apply(outcome) && outcome.kind === 'accepted')
                  checkDrawsUsable(before, outcome.result.hold.reservations, command.feature);
                break;
              }
              case 'capture': {
                const hold = pick(wallet.holds, command.pick);
                if (hold === undefined) break;
                const outcome = decideCapture(
                  wallet,
                  hold.id,
                  { amount: command.amount, onExcess: command.onExcess },
                  ctx(),
                );
                if (apply(outcome) && outcome.kind === 'accepted') {
                  const captured = command.amount ?? hold.amount;
                  assert.ok(
                    command.onExcess === 'draw' || captured <= hold.amount,
                    'a refusing capture never exceeds the hold',
                  );
                  const { taken } = splitReservations(hold.reservations, captured);
                  checkDrawsUsable(before, outcome.result.draws.slice(taken.length), hold.feature);
                  reversibles.push(reversible(outcome.result.transaction, outcome.result.draws));
                }
                break;
              }
              case 'release': {
                const hold = pick(wallet.holds, command.pick);
                if (hold !== undefined) assert.ok(apply(decideRelease(wallet, hold.id, ctx())));
                break;
              }
              case 'extend': {
                const hold = pick(wallet.holds, command.pick);
                if (hold === undefined) break;
                const outcome = decideExtend(
                  wallet,
                  hold.id,
                  { additionalAmount: command.amount, expiresAt: hold.expiresAt + command.later },
                  ctx(),
                );
                if (apply(outcome) && outcome.kind === 'accepted')
                  checkDrawsUsable(
                    before,
                    outcome.result.hold.reservations.slice(hold.reservations.length),
                    hold.feature,
                  );
                break;
              }
              case 'reverse': {
                const index = reversibles.length === 0 ? -1 : command.pick % reversibles.length;
                const original = reversibles[index];
                if (original === undefined) break;
                const outcome = decideReversal(wallet, original, { amount: command.amount, reason: 'test' }, ctx());
                const left = original.amount - original.reversedAmount;
                if (apply(outcome) && outcome.kind === 'accepted') {
                  reversibles[index] = {
                    ...original,
                    reversedAmount: original.reversedAmount + outcome.result.transaction.amount,
                  };
                  assert.ok(reversibles[index].reversedAmount <= original.amount, 'reversed at most once in total');
                } else assert.ok((command.amount ?? left) > left || left === 0n);
                break;
              }
              case 'void': {
                const lot = pick(
                  wallet.grants.filter((g) => g.voidedAt === null),
                  command.pick,
                );
                if (lot !== undefined) assert.ok(apply(decideVoid(wallet, lot.id, 'test', ctx())));
                break;
              }
              case 'advance':
                now += command.by;
                break;
            }
            settle();
            assertWalletInvariants(wallet);
            const view = viewBalance(wallet, now);
            assert.ok(view.balance - view.held >= -wallet.policy.overdraftLimit, 'balance − held ≥ −overdraft_limit');
            let sumRemaining = 0n;
            for (const lot of wallet.grants) sumRemaining += lot.remaining;
            assert.equal(booked, sumRemaining - wallet.debt, 'booked balance = sum of entries = Σ remaining − debt');
            const openHeld = wallet.holds.reduce((sum, hold) => sum + hold.amount, 0n);
            assert.equal(view.held, openHeld, 'held equals the sum of open holds');
            for (const hold of wallet.holds) assert.ok(hold.expiresAt > now, 'settled wallets carry no expired hold');
          }
        },
      ),
      { seed, numRuns: 200 },
    );
  });
});
