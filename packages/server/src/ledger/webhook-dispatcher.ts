/**
 * Webhook delivery: lifecycle events in the outbox are fanned out to the endpoints whose filter
 * matches, as deliveries; due deliveries are signed (Standard Webhooks) and POSTed, each attempt
 * logged, failures retried with growing delays for up to three days. At least once: a delivery is
 * leased before it is sent, and the same `webhook-id` goes with every attempt.
 */

import type { Clock } from '../clock.ts';
import { newId } from '../ids.ts';
import type { SqlRow } from '../storage/database.ts';
import type { Committer } from './committer.ts';
import type { LedgerService } from './service.ts';
import { okReply } from './service.ts';
import { toBigint, toTime } from './wallet-store.ts';
import { toNotification } from './webhook-operations.ts';
import { signWebhook } from './webhook-signing.ts';
import { refuseResolvedTarget } from './webhook-targets.ts';

/** Delay before attempt n+1 after n failures; the last one repeats until three days have passed. */
export const retryDelaysMs = [
  30_000, 120_000, 600_000, 1_800_000, 3_600_000, 7_200_000, 14_400_000, 28_800_000, 43_200_000,
];
export const deliveryWindowMs = 3 * 86_400_000;
const sendTimeoutMs = 15_000;
/** While a delivery is being sent it is leased, so another process does not send it at once too. */
const leaseMs = 60_000;
const perTickMax = 100;
/** Events fanned out per tick: more than deliveries, since most events match no endpoint. */
const _fanOutPerTickMax = 1000;

export class WebhookDispatcher {
  readonly #service: LedgerService;
  readonly #committer: Committer;
  readonly #clock: Clock;

  constructor(service: LedgerService, committer: Committer, clock: Clock) {
    this.#service = service;
    this.#committer = committer;
    this.#clock = clock;
  }

  /** Fans out new events and sends the deliveries that are due; returns how many were sent. */
  async tick(): Promise<number> {
    // Look first with the reader, so an idle tick costs no write transaction (and no fsync).
    const reader = this.#service.database.reader;
    const [newEvent] = await reader.all('SELECT id FROM outbox WHERE delivered_at IS NULL LIMIT 1');
    if (newEvent !== undefined) await this.#fanOut();
    const [due] = await reader.all(
      "SELECT id FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= ? LIMIT 1",
      [BigInt(this.#clock.now())],
    );
    if (due === undefined) return 0;
    const leased = await this.#lease();
    await Promise.all(leased.map((delivery) => this.#send(delivery)));
    return leased.length;
  }

  /** One delivery per new outbox event and matching endpoint, in the transaction that marks the event dispatched. */
  #fanOut(): Promise<unknown> {
    return this.#command(async (session, now) => {
      const events = await session.all(
        `SELECT * FROM outbox WHERE delivered_at IS NULL ORDER BY id LIMIT ${perTickMax}`,
      );
      if (events.length === 0) return;
      const endpoints = await session.all(
        'SELECT * FROM webhook_endpoints WHERE deleted_at IS NULL AND disabled_at IS NULL',
      );
      const deliveries: SqlRow[] = [];
      for (const event of events) {
        for (const endpoint of endpoints) {
          if (endpoint.environment_id !== event.environment_id) continue;
          const types = endpoint.event_types === null ? null : (JSON.parse(String(endpoint.event_types)) as string[]);
          if (types !== null && !types.includes(String(event.type))) continue;
          deliveries.push({
            environment_id: event.environment_id ?? null,
            id: newId('whd', now),
            endpoint_id: endpoint.id ?? null,
            event_id: event.id ?? null,
            event_type: event.type ?? null,
            payload: JSON.stringify(toNotification(event)),
            status: 'pending',
            attempts: 0n,
            next_attempt_at: BigInt(now),
            last_status: null,
            last_error: null,
            created_at: BigInt(now),
            delivered_at: null,
          });
        }
      }
      await session.insertMany('webhook_deliveries', deliveries);
      await session.updateMany(
        'outbox',
        ['id'],
        events.map((event) => ({ id: event.id ?? null, delivered_at: BigInt(now) })),
      );
    });
  }

  /** Claims due deliveries by pushing their next attempt past the lease, in one transaction. */
  async #lease(): Promise<SqlRow[]> {
    let leased: SqlRow[] = [];
    await this.#command(async (session, now) => {
      // SKIP LOCKED: a delivery another process is leasing right now is left to it.
      const lock = session.dialect === 'postgres' ? ' FOR UPDATE OF d SKIP LOCKED' : '';
      leased = await session.all(
        `SELECT d.*, e.url, e.secret, e.previous_secret, e.previous_secret_until FROM webhook_deliveries d
         JOIN webhook_endpoints e ON e.environment_id = d.environment_id AND e.id = d.endpoint_id
         WHERE d.status = 'pending' AND d.next_attempt_at <= ? ORDER BY d.next_attempt_at LIMIT ${perTickMax}${lock}`,
        [BigInt(now)],
      );
      await session.updateMany(
        'webhook_deliveries',
        ['environment_id', 'id'],
        leased.map((row) => ({
          environment_id: row.environment_id ?? null,
          id: row.id ?? null,
          next_attempt_at: BigInt(now + leaseMs),
        })),
      );
    });
    return leased;
  }

  async #send(delivery: SqlRow): Promise<void> {
    const started = this.#clock.now();
    const attempt = toBigint(delivery.attempts) + 1n;
    const secrets = [String(delivery.secret)];
    if (delivery.previous_secret !== null && toTime(delivery.previous_secret_until) > started)
      secrets.push(String(delivery.previous_secret));
    const timestamp = Math.floor(started / 1000);
    const body = String(delivery.payload);
    let statusCode: number | null = null;
    let error: string | null = null;
    const wallStart = performance.now();
    try {
      const refusal = await refuseResolvedTarget(String(delivery.url), this.#service.webhooksAllowPrivate);
      if (refusal !== null) throw new Error(`target refused: ${refusal}`);
      const response = await fetch(String(delivery.url), {
        method: 'POST',
        redirect: 'manual',
        signal: AbortSignal.timeout(sendTimeoutMs),
        headers: {
          'content-type': 'application/json',
          'webhook-id': String(delivery.event_id),
          'webhook-timestamp': String(timestamp),
          'webhook-signature': signWebhook(secrets, String(delivery.event_id), timestamp, body),
        },
        body,
      });
      statusCode = response.status;
      await response.body?.cancel();
    } catch (failure) {
      error = String((failure as Error).message ?? failure).slice(0, 500);
    }
    const durationMs = Math.round(performance.now() - wallStart);
    const succeeded = statusCode !== null && statusCode >= 200 && statusCode < 300;
    await this.#command(async (session, now) => {
      const created = toTime(delivery.created_at);
      const delay = retryDelaysMs[Math.min(Number(attempt) - 1, retryDelaysMs.length - 1)] ?? 0;
      const gone = statusCode === 410;
      const exhausted = now + delay > created + deliveryWindowMs;
      const status = succeeded ? 'succeeded' : gone || exhausted ? 'failed' : 'pending';
      await session.insertMany('webhook_attempts', [
        {
          environment_id: delivery.environment_id ?? null,
          delivery_id: delivery.id ?? null,
          attempt,
          status_code: statusCode === null ? null : BigInt(statusCode),
          error,
          duration_ms: BigInt(durationMs),
          at: BigInt(now),
        },
      ]);
      await session.updateMany(
        'webhook_deliveries',
        ['environment_id', 'id'],
        [
          {
            environment_id: delivery.environment_id ?? null,
            id: delivery.id ?? null,
            status,
            attempts: attempt,
            next_attempt_at: BigInt(now + delay),
            last_status: statusCode === null ? null : BigInt(statusCode),
            last_error: error,
            delivered_at: succeeded ? BigInt(now) : null,
          },
        ],
      );
      if (gone) {
        // 410 Gone: the receiver says the endpoint no longer exists.
        await session.updateMany(
          'webhook_endpoints',
          ['environment_id', 'id'],
          [
            {
              environment_id: delivery.environment_id ?? null,
              id: delivery.endpoint_id ?? null,
              disabled_at: BigInt(now),
            },
          ],
        );
      }
    });
  }

  /** Runs storage work in the committer's next batch: the one writer of this process. */
  #command(
    work: (session: import('../storage/database.ts').SqlSession, now: number) => Promise<void>,
  ): Promise<unknown> {
    return this.#committer.submit({
      environmentId: '',
      requestId: 'webhooks',
      idempotency: null,
      wallets: [],
      async prepare(batch) {
        await work(batch.session, batch.now);
      },
      decide: () => okReply(200, {}),
    });
  }
}
