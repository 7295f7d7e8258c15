/**
 * Webhook delivery: lifecycle events in the outbox are fanned out to the endpoints whose filter
 * matches, as deliveries; due deliveries are signed (Standard Webhooks) and POSTed, each attempt
 * logged, failures retried with growing delays for up to three days. At least once: a delivery is
 * leased before it is sent, and the same `webhook-id` goes with every attempt. A process that dies
 * mid-send leaves its lease to expire; any process then takes the delivery again. Signing secrets
 * are stored encrypted and opened only to sign (secret-box.ts); one that does not open fails the
 * attempt, its error naming why. Sends go through this dispatcher's own HTTP agents, whose lookup
 * checks every address a name resolves to and connects only to a checked one (targets.ts).
 */

import type { Agent as HttpAgent, IncomingMessage } from 'node:http';
import http from 'node:http';
import https from 'node:https';

import type { Clock } from '../../platform/clock.ts';
import type { Committer } from '../../platform/commit/committer.ts';
import type { Logger } from '../../platform/http/logger.ts';
import { decideRetryDelayMs } from '../../platform/jobs/backoff.ts';
import type { ClaimedWork } from '../../platform/jobs/claims.ts';
import { settleAll } from '../../platform/jobs/claims.ts';
import type { LedgerService } from '../../platform/service.ts';
import { toTime } from '../../platform/storage/codecs.ts';
import type { SqlRow } from '../../platform/storage/database.ts';
import { queryBuilder } from '../../platform/storage/kysely.ts';
import type { TableRow } from '../../platform/storage/schema.ts';
import { toDeliveryRow, toNotification } from './operations.ts';
import { openSecret, SecretNotOpened } from './secret-box.ts';
import { signWebhook } from './signing.ts';
import type { HostResolver } from './targets.ts';
import { checkedLookup, refuseTargetUrl, systemResolver } from './targets.ts';

/** The dispatcher's schedule. Tests shorten it; the defaults are the documented ones. */
export interface WebhookTiming {
  /** Delay before attempt n+1 after n failures; the last one repeats until the window closes. */
  readonly retryDelaysMs: readonly number[];
  /** No attempt is scheduled later than this after the delivery was created (or redelivered). */
  readonly deliveryWindowMs: number;
  /** A whole send, address check included, is abandoned after this long. */
  readonly sendTimeoutMs: number;
  /** While a delivery is being sent it is leased, so another process does not send it at once too. */
  readonly leaseMs: number;
}

export const defaultWebhookTiming: WebhookTiming = {
  retryDelaysMs: [30_000, 120_000, 600_000, 1_800_000, 3_600_000, 7_200_000, 14_400_000, 28_800_000, 43_200_000],
  deliveryWindowMs: 3 * 86_400_000,
  sendTimeoutMs: 15_000,
  leaseMs: 60_000,
};
/** A claimed delivery with what sending it needs of its endpoint. */
type LeasedDelivery = TableRow<'webhook_deliveries'> &
  Pick<TableRow<'webhook_endpoints'>, 'url' | 'secret' | 'previous_secret' | 'previous_secret_until'> & {
    readonly endpoint_deleted_at: bigint | null;
    readonly endpoint_disabled_at: bigint | null;
  };

/** Events fanned out, and deliveries claimed, per run. */
const perRunMax = 100;

export class WebhookDispatcher {
  readonly #service: LedgerService;
  readonly #committer: Committer;
  readonly #clock: Clock;
  readonly #timing: WebhookTiming;
  readonly #logger: Logger;
  /** One agent per protocol, without keep-alive, each resolving through the checked lookup. */
  readonly #agents: { readonly 'http:': HttpAgent; readonly 'https:': HttpAgent };

  constructor(
    service: LedgerService,
    committer: Committer,
    clock: Clock,
    logger: Logger,
    timing: WebhookTiming = defaultWebhookTiming,
    resolve: HostResolver = systemResolver,
  ) {
    // A send outlives its lease only if its process stalls: then the delivery may go out twice.
    if (!(timing.sendTimeoutMs < timing.leaseMs)) throw new Error('assertion failed: a send ends before its lease');
    if (timing.retryDelaysMs.length === 0) throw new Error('assertion failed: at least one retry delay');
    this.#service = service;
    this.#committer = committer;
    this.#clock = clock;
    this.#timing = timing;
    this.#logger = logger;
    const lookup = checkedLookup(resolve, service.webhooksAllowPrivate);
    this.#agents = { 'http:': new http.Agent({ lookup }), 'https:': new https.Agent({ lookup }) };
  }

  /**
   * Fans out new events and claims the deliveries that are due; the sends run under their lease
   * and may outlive this call (one slow endpoint holds up no other delivery).
   */
  async claimDue(): Promise<ClaimedWork> {
    // Look first with the reader, so an idle run costs no write transaction (and no fsync).
    const reader = this.#service.database.reader;
    const db = queryBuilder(reader);
    const newEvent = await db
      .selectFrom('outbox')
      .select('id')
      .where('delivered_at', 'is', null)
      .limit(1)
      .executeTakeFirst();
    if (newEvent !== undefined) await this.#fanOut();
    const due = await db
      .selectFrom('webhook_deliveries')
      .select('id')
      .where('status', '=', 'pending')
      .where('next_attempt_at', '<=', BigInt(this.#clock.now()))
      .limit(1)
      .executeTakeFirst();
    if (due === undefined) return { claimed: 0, done: Promise.resolve() };
    const leased = await this.#lease();
    // allSettled: a stop waits for every send, even after one of them failed.
    const done = settleAll(leased.map((delivery) => this.#send(delivery)));
    return { claimed: leased.length, done };
  }

  /** One delivery per new outbox event and matching endpoint, in the transaction that marks the event dispatched. */
  #fanOut(): Promise<unknown> {
    return this.#committer.runInWriter('webhooks', async ({ session, now }) => {
      const db = queryBuilder(session);
      const events = await db
        .selectFrom('outbox')
        .selectAll()
        .where('delivered_at', 'is', null)
        .orderBy('id')
        .limit(perRunMax)
        // SKIP LOCKED: events another fan-out (another process, or a run by hand) holds are its own.
        .$if(session.dialect === 'postgres', (query) => query.forUpdate().skipLocked())
        .execute();
      if (events.length === 0) return;
      const endpoints = await db
        .selectFrom('webhook_endpoints')
        .selectAll()
        .where('deleted_at', 'is', null)
        .where('disabled_at', 'is', null)
        .execute();
      const deliveries: SqlRow[] = [];
      for (const event of events) {
        for (const endpoint of endpoints) {
          if (endpoint.environment_id !== event.environment_id) continue;
          const types = endpoint.event_types === null ? null : (JSON.parse(endpoint.event_types) as string[]);
          if (types !== null && !types.includes(event.type)) continue;
          deliveries.push(toDeliveryRow(event.environment_id, endpoint.id, toNotification(event), now));
        }
      }
      await session.insertMany('webhook_deliveries', deliveries);
      await session.updateMany(
        'outbox',
        ['environment_id', 'customer_id', 'id'],
        events.map((event) => ({
          environment_id: event.environment_id,
          customer_id: event.customer_id,
          id: event.id,
          delivered_at: BigInt(now),
        })),
      );
    });
  }

  /**
   * Claims due deliveries by pushing their next attempt past the lease, in one transaction. A
   * lease is only that time: if this process dies mid-send, the delivery is due again once the
   * lease has passed, for whichever process looks first. Deliveries whose endpoint has been
   * deleted or disabled since they were queued are closed as failed instead.
   */
  async #lease(): Promise<LeasedDelivery[]> {
    let leased: LeasedDelivery[] = [];
    await this.#committer.runInWriter('webhooks', async ({ session, now }) => {
      const due = await queryBuilder(session)
        .selectFrom('webhook_deliveries as d')
        .innerJoin('webhook_endpoints as e', (join) =>
          join.onRef('e.environment_id', '=', 'd.environment_id').onRef('e.id', '=', 'd.endpoint_id'),
        )
        .selectAll('d')
        .select([
          'e.url',
          'e.secret',
          'e.previous_secret',
          'e.previous_secret_until',
          'e.deleted_at as endpoint_deleted_at',
          'e.disabled_at as endpoint_disabled_at',
        ])
        .where('d.status', '=', 'pending')
        .where('d.next_attempt_at', '<=', BigInt(now))
        .orderBy('d.next_attempt_at')
        .limit(perRunMax)
        // SKIP LOCKED: a delivery another process is leasing right now is left to it.
        .$if(session.dialect === 'postgres', (query) => query.forUpdate('d').skipLocked())
        .execute();
      leased = due.filter((row) => row.endpoint_deleted_at === null && row.endpoint_disabled_at === null);
      await session.updateMany(
        'webhook_deliveries',
        ['environment_id', 'id'],
        due.map((row) =>
          leased.includes(row)
            ? {
                environment_id: row.environment_id,
                id: row.id,
                status: 'pending',
                last_error: row.last_error,
                next_attempt_at: BigInt(now + this.#timing.leaseMs),
              }
            : {
                environment_id: row.environment_id,
                id: row.id,
                status: 'failed',
                last_error: row.endpoint_deleted_at === null ? 'endpoint disabled' : 'endpoint deleted',
                next_attempt_at: BigInt(now),
              },
        ),
      );
    });
    return leased;
  }

  async #send(delivery: LeasedDelivery): Promise<void> {
    const started = this.#clock.now();
    const secrets = this.#openSecrets(delivery, started);
    if (secrets instanceof SecretNotOpened) {
      // Not signed at all rather than signed wrongly: the attempt fails, is logged, and retries like any failure.
      await this.#record(delivery, { statusCode: null, error: `cannot sign: ${secrets.message}`, durationMs: 0 });
      return;
    }
    const timestamp = Math.floor(started / 1000);
    const body = delivery.payload;
    let statusCode: number | null = null;
    let error: string | null = null;
    const wallStart = performance.now();
    // One deadline for the whole send, the address check included, so it ends within its lease.
    const deadline = AbortSignal.timeout(this.#timing.sendTimeoutMs);
    try {
      // Checked again here, not only at registration: node:net calls no lookup for an IP literal.
      const refusal = refuseTargetUrl(delivery.url, this.#service.webhooksAllowPrivate);
      if (refusal !== null) throw new Error(`target refused: ${refusal}`);
      const response = await this.#post(new URL(delivery.url), deadline, body, {
        'content-type': 'application/json',
        'content-length': String(Buffer.byteLength(body)),
        'webhook-id': delivery.event_id,
        'webhook-timestamp': String(timestamp),
        'webhook-signature': signWebhook(secrets, delivery.event_id, timestamp, body),
      });
      statusCode = response.statusCode ?? null;
      // Only the status counts: the body is not read, and a redirect is not followed.
      response.destroy();
    } catch (failure) {
      error = deadline.aborted
        ? `no answer within ${this.#timing.sendTimeoutMs} ms`
        : String((failure as Error).message ?? failure).slice(0, 500);
    }
    const durationMs = Math.round(performance.now() - wallStart);
    await this.#record(delivery, { statusCode, error, durationMs });
  }

  /**
   * The endpoint's signing secrets, decrypted (the previous one while its grace lasts), or why they
   * cannot be: a wrong audit key or a value that is not this endpoint's is an operator's problem,
   * logged as an error for each delivery it stops.
   */
  #openSecrets(delivery: LeasedDelivery, now: number): string[] | SecretNotOpened {
    const owner = { environmentId: delivery.environment_id, endpointId: delivery.endpoint_id };
    const stored = [delivery.secret];
    if (
      delivery.previous_secret !== null &&
      delivery.previous_secret_until !== null &&
      toTime(delivery.previous_secret_until) > now
    )
      stored.push(delivery.previous_secret);
    try {
      return stored.map((value) => openSecret(this.#service.auditKey, owner, value));
    } catch (error) {
      if (!(error instanceof SecretNotOpened)) throw error;
      this.#logger.error('webhook secret cannot sign', {
        environment: owner.environmentId,
        endpoint: owner.endpointId,
        delivery: delivery.id,
        reason: error.message,
      });
      return error;
    }
  }

  /** POSTs `body` and resolves with the response once its head has arrived. */
  #post(url: URL, signal: AbortSignal, body: string, headers: Record<string, string>): Promise<IncomingMessage> {
    const agent = url.protocol === 'https:' ? this.#agents['https:'] : this.#agents['http:'];
    const send = url.protocol === 'https:' ? https.request : http.request;
    return new Promise((resolve, reject) => {
      const request = send(url, { method: 'POST', agent, signal, headers }, resolve);
      request.on('error', reject);
      request.end(body);
    });
  }

  /**
   * Logs one attempt and schedules the next. The attempt is numbered from the row as it is now,
   * not as it was leased: a send that outlived its lease overlaps the one that retook it, and
   * both are logged. A late failure does not reopen a delivery that has meanwhile succeeded.
   */
  #record(
    delivery: LeasedDelivery,
    outcome: { statusCode: number | null; error: string | null; durationMs: number },
  ): Promise<unknown> {
    const { statusCode, error, durationMs } = outcome;
    const succeeded = statusCode !== null && statusCode >= 200 && statusCode < 300;
    const gone = statusCode === 410;
    const { retryDelaysMs, deliveryWindowMs } = this.#timing;
    return this.#committer.runInWriter('webhooks', async ({ session, now }) => {
      const key = { environment_id: delivery.environment_id, id: delivery.id };
      const current = await queryBuilder(session)
        .selectFrom('webhook_deliveries')
        .select(['status', 'attempts', 'created_at'])
        .where('environment_id', '=', key.environment_id)
        .where('id', '=', key.id)
        .executeTakeFirst();
      if (current === undefined) throw new Error('assertion failed: a leased delivery exists');
      const attempt = current.attempts + 1n;
      await session.insertMany('webhook_attempts', [
        {
          environment_id: key.environment_id,
          delivery_id: key.id,
          attempt,
          status_code: statusCode === null ? null : BigInt(statusCode),
          error,
          duration_ms: BigInt(durationMs),
          at: BigInt(now),
        },
      ]);
      const last = { last_status: statusCode === null ? null : BigInt(statusCode), last_error: error };
      if (succeeded) {
        await session.updateMany(
          'webhook_deliveries',
          ['environment_id', 'id'],
          [
            {
              ...key,
              ...last,
              status: 'succeeded',
              attempts: attempt,
              next_attempt_at: BigInt(now),
              delivered_at: BigInt(now),
            },
          ],
        );
      } else if (current.status !== 'pending') {
        // Settled while this send was out (the other send succeeded, or the endpoint went away).
        await session.updateMany('webhook_deliveries', ['environment_id', 'id'], [{ ...key, attempts: attempt }]);
      } else {
        const delay = decideRetryDelayMs(Number(attempt), retryDelaysMs);
        const exhausted = now + delay > toTime(current.created_at) + deliveryWindowMs;
        await session.updateMany(
          'webhook_deliveries',
          ['environment_id', 'id'],
          [
            {
              ...key,
              ...last,
              status: gone || exhausted ? 'failed' : 'pending',
              attempts: attempt,
              next_attempt_at: BigInt(now + delay),
            },
          ],
        );
      }
      if (gone) {
        // 410 Gone: the receiver says the endpoint no longer exists; its other deliveries close at their next lease.
        await session.updateMany(
          'webhook_endpoints',
          ['environment_id', 'id'],
          [{ environment_id: key.environment_id, id: delivery.endpoint_id, disabled_at: BigInt(now) }],
        );
      }
    });
  }
}
