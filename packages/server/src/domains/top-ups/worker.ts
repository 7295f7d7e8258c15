/**
 * The top-up worker: hands requested top-ups to the payment provider and settles each with the
 * provider's answer. A top-up is leased before it is charged (`FOR UPDATE SKIP LOCKED` on
 * PostgreSQL), so processes share the work; a lease that runs out (a crash, a slow provider) hands
 * it over again with the same id, which the provider treats as its idempotency key, and the
 * settle command settles a top-up once however many answers arrive.
 */

import type { ClaimedWork } from '../../platform/jobs/claims.ts';
import { settleAll } from '../../platform/jobs/claims.ts';
import type { LedgerService } from '../../platform/service.ts';
import type { SqlSession } from '../../platform/storage/database.ts';
import { queryBuilder } from '../../platform/storage/kysely.ts';
import type { TableRow } from '../../platform/storage/schema.ts';
import type { TopUpSettlement } from './operations.ts';
import { settleCommand, topUpTarget } from './operations.ts';
import type { ChargeOutcome, PaymentProvider } from './payment-provider.ts';

/** Top-ups claimed per run. */
const perRunMax = 100;

export interface TopUpWorkerOptions {
  readonly service: LedgerService;
  readonly provider: PaymentProvider;
  /** How long a leased top-up is left to this process before another may charge it again. */
  readonly leaseMs: number;
  /** The provider threw: the top-up stays requested and is charged again after its lease. */
  readonly onChargeError?: (error: unknown, topUpId: string) => void;
}

export class TopUpWorker {
  readonly #options: TopUpWorkerOptions;

  constructor(options: TopUpWorkerOptions) {
    this.#options = options;
  }

  /**
   * Claims the requested top-ups that no one holds a lease on and hands them to the provider; the
   * charges run under their lease and may outlive this call (a slow provider holds up no claim).
   */
  async claimDue(): Promise<ClaimedWork> {
    const { service } = this.#options;
    // Look first with the reader, so an idle run costs no write transaction (and no fsync).
    const due = await dueTopUps(service.database.reader, BigInt(service.clock.now()))
      .select('id')
      .limit(1)
      .executeTakeFirst();
    if (due === undefined) return { claimed: 0, done: Promise.resolve() };
    const leased = await this.#lease();
    // allSettled: a stop waits for every charge, even after one of them failed.
    const done = settleAll(leased.map((row) => this.#charge(row)));
    return { claimed: leased.length, done };
  }

  /** Claims due top-ups by pushing their lease into the future, in one transaction. */
  async #lease(): Promise<TableRow<'topups'>[]> {
    const { service, leaseMs } = this.#options;
    let leased: TableRow<'topups'>[] = [];
    await service.committer.runInWriter('top-ups', async ({ session, now }) => {
      leased = await dueTopUps(session, BigInt(now))
        .selectAll()
        .orderBy('created_at')
        .orderBy('id')
        .limit(perRunMax)
        // SKIP LOCKED: a top-up another process is leasing or settling right now is left to it.
        .$if(session.dialect === 'postgres', (query) => query.forUpdate().skipLocked())
        .execute();
      await session.updateMany(
        'topups',
        ['environment_id', 'customer_id', 'id'],
        leased.map((row) => ({
          environment_id: row.environment_id,
          customer_id: row.customer_id,
          id: row.id,
          attempts: row.attempts + 1n,
          lease_until: BigInt(now + leaseMs),
        })),
      );
    });
    return leased;
  }

  async #charge(row: TableRow<'topups'>): Promise<void> {
    const { service, provider } = this.#options;
    const environmentId = row.environment_id;
    const topUpId = row.id;
    let outcome: ChargeOutcome;
    try {
      outcome = await provider.charge({
        topUpId,
        environmentId,
        customer: row.customer_id,
        asset: row.asset,
        amount: row.amount,
      });
    } catch (error) {
      this.#options.onChargeError?.(error, topUpId);
      return;
    }
    const target = await topUpTarget(service, environmentId, topUpId);
    if (target === undefined) throw new Error('assertion failed: a leased top-up exists');
    const settlement: TopUpSettlement = {
      succeeded: outcome.outcome === 'succeeded',
      reference: outcome.outcome === 'succeeded' ? outcome.reference : null,
      reason: outcome.outcome === 'failed' ? outcome.reason : null,
      costBasis: outcome.outcome === 'succeeded' ? outcome.costBasis : null,
      actor: 'payment_provider',
      requestId: 'top-up-worker',
    };
    const reply = await service.committer.submit({
      environmentId,
      requestId: settlement.requestId,
      idempotency: null,
      ...settleCommand(target, settlement),
    });
    // top_up_settled: someone settled it first (settleTopUp, another process); nothing changed.
    if (!reply.problem) service.onTopUpSettled(outcome.outcome);
  }
}

/** Requested top-ups whose lease (if any) has run out at `now`: the ones a run may claim. */
function dueTopUps(session: SqlSession, now: bigint) {
  return queryBuilder(session)
    .selectFrom('topups')
    .where('status', '=', 'requested')
    .where((where) => where.or([where('lease_until', 'is', null), where('lease_until', '<=', now)]));
}
