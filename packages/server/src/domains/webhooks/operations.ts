/**
 * Webhook endpoints and the notification feed: register an endpoint for some event types, rotate
 * its secret (stored encrypted, secret-box.ts), delete it, send it a test event, read its delivery log
 * and redeliver; and list the lifecycle events the ledger wrote to its outbox. Delivery itself is the
 * dispatcher's (dispatcher.ts).
 */

import { auditOf } from '../../platform/commit/audit-chain.ts';
import type { Caller, Reply } from '../../platform/contract.ts';
import { newId } from '../../platform/ids.ts';
import type { LedgerService } from '../../platform/service.ts';
import { fieldReply, isFieldError, okReply, problemReply } from '../../platform/service.ts';
import { toTime } from '../../platform/storage/codecs.ts';
import type { Database, SqlRow, SqlSession } from '../../platform/storage/database.ts';
import { queryBuilder } from '../../platform/storage/kysely.ts';
import { takeStartupLock } from '../../platform/storage/migrations.ts';
import type { PageQuery } from '../../platform/storage/paging.ts';
import { childRowsOf, keyset, readPage, textColumn } from '../../platform/storage/paging.ts';
import type { TableRow } from '../../platform/storage/schema.ts';
import { toTimestamp } from '../../platform/wire.ts';
import type { SecretOwner } from './secret-box.ts';
import { openSecret, SecretNotOpened, sealSecret } from './secret-box.ts';
import { generateWebhookSecret } from './signing.ts';
import { refuseTargetUrl } from './targets.ts';

type EndpointRow = TableRow<'webhook_endpoints'>;
type DeliveryRow = TableRow<'webhook_deliveries'>;

/** How long the secret before a rotation keeps signing, so receivers can switch without a gap. */
export const previousSecretGraceMs = 24 * 3_600_000;

/** An endpoint as listed; `secret` as for API keys: shown by the reply that made it, null in its stored replay. */
export function toWireEndpoint(row: EndpointRow, secret?: string | null) {
  return {
    id: row.id,
    url: row.url,
    event_types: row.event_types === null ? null : (JSON.parse(row.event_types) as string[]),
    description: row.description,
    disabled_at: row.disabled_at === null ? null : toTimestamp(toTime(row.disabled_at)),
    created_at: toTimestamp(toTime(row.created_at)),
    ...(secret === undefined ? {} : secret === null ? { secret: null, secret_shown_once: true } : { secret }),
  };
}

export async function createWebhookEndpoint(
  service: LedgerService,
  caller: Caller,
  input: { url: string; event_types?: string[] | undefined; description?: string | undefined },
): Promise<Reply> {
  const refusal = refuseTargetUrl(input.url, service.webhooksAllowPrivate);
  if (refusal !== null) return fieldReply(caller, [{ field: 'url', message: refusal }]);
  return service.submit(caller, 'createWebhookEndpoint', input, {
    kind: 'task',
    async run(writer) {
      const secret = generateWebhookSecret();
      const id = newId('whe', writer.now);
      const row: EndpointRow = {
        environment_id: caller.environmentId,
        id,
        url: input.url,
        event_types: input.event_types === undefined ? null : JSON.stringify(input.event_types),
        description: input.description ?? null,
        secret: sealSecret(service.auditKey, { environmentId: caller.environmentId, endpointId: id }, secret),
        previous_secret: null,
        previous_secret_until: null,
        created_at: BigInt(writer.now),
        disabled_at: null,
        deleted_at: null,
      };
      await writer.session.insertMany('webhook_endpoints', [row]);
      const body = toWireEndpoint(row);
      writer.audits.push(auditOf(caller, 'webhook_endpoint.created', `webhook_endpoint:${row.id}`, null, null, body));
      return okReply(201, toWireEndpoint(row, secret), toWireEndpoint(row, null));
    },
  });
}

function endpointRow(session: SqlSession, environmentId: string, id: string): Promise<EndpointRow | undefined> {
  return queryBuilder(session)
    .selectFrom('webhook_endpoints')
    .selectAll()
    .where('environment_id', '=', environmentId)
    .where('id', '=', id)
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
}

const endpointKeys = keyset('webhook_endpoints', 'asc', textColumn('id'));

/** The environment's live webhook endpoints in the order they were created (ids are time-ordered). */
export async function listWebhookEndpoints(service: LedgerService, caller: Caller, query: PageQuery): Promise<Reply> {
  const filters = { 'environment_id = ?': caller.environmentId, 'deleted_at IS NULL': null };
  const found = await readPage(service.database.reader, 'webhook_endpoints', endpointKeys, filters, query);
  if (isFieldError(found)) return fieldReply(caller, [found]);
  return okReply(200, { data: found.rows.map((row) => toWireEndpoint(row)), next_cursor: found.nextCursor });
}

/** Runs `change` on a live endpoint of the caller's environment inside the write transaction. */
function changeEndpoint(
  service: LedgerService,
  caller: Caller,
  operation: string,
  id: string,
  change: (
    row: EndpointRow,
    now: number,
  ) => { set: Partial<EndpointRow>; audit: string; reply: unknown; replayReply?: unknown },
): Promise<Reply> {
  return service.submit(
    caller,
    operation,
    { id },
    {
      kind: 'task',
      async run(writer) {
        const row = await endpointRow(writer.session, caller.environmentId, id);
        if (row === undefined) {
          return problemReply(caller, 'webhook_endpoint_not_found', `No webhook endpoint "${id}" in this environment.`);
        }
        const changed = change(row, writer.now);
        await writer.session.updateMany(
          'webhook_endpoints',
          ['environment_id', 'id'],
          [{ environment_id: caller.environmentId, id, ...changed.set }],
        );
        writer.audits.push(
          auditOf(
            caller,
            changed.audit,
            `webhook_endpoint:${id}`,
            null,
            toWireEndpoint(row),
            toWireEndpoint({ ...row, ...changed.set }),
          ),
        );
        return okReply(200, changed.reply, changed.replayReply);
      },
    },
  );
}

export function deleteWebhookEndpoint(service: LedgerService, caller: Caller, id: string): Promise<Reply> {
  return changeEndpoint(service, caller, 'deleteWebhookEndpoint', id, (row, now) => ({
    set: { deleted_at: BigInt(now) },
    audit: 'webhook_endpoint.deleted',
    reply: { ...toWireEndpoint(row), deleted: true },
  }));
}

export function rotateWebhookSecret(service: LedgerService, caller: Caller, id: string): Promise<Reply> {
  return changeEndpoint(service, caller, 'rotateWebhookSecret', id, (row, now) => {
    const secret = generateWebhookSecret();
    const owner = { environmentId: caller.environmentId, endpointId: id };
    // The old secret keeps signing through the grace only if it opens (it is sealed for this same row,
    // so it moves to the other column as it is); one that does not (a lost audit key) could sign
    // nothing, and would stop every delivery until the grace ended, so it is dropped.
    const previousSecret = canOpen(service.auditKey, owner, row.secret) ? row.secret : null;
    const set = {
      secret: sealSecret(service.auditKey, owner, secret),
      previous_secret: previousSecret,
      previous_secret_until: previousSecret === null ? null : BigInt(now + previousSecretGraceMs),
    };
    const previousSecretValidUntil = previousSecret === null ? null : toTimestamp(now + previousSecretGraceMs);
    return {
      set,
      audit: 'webhook_endpoint.secret_rotated',
      reply: { ...toWireEndpoint({ ...row, ...set }, secret), previous_secret_valid_until: previousSecretValidUntil },
      replayReply: {
        ...toWireEndpoint({ ...row, ...set }, null),
        previous_secret_valid_until: previousSecretValidUntil,
      },
    };
  });
}

/**
 * At start: encrypts in place, in one transaction under the start-up lock, every plaintext signing
 * secret an older version stored (the first start after the upgrade finds them; later starts none),
 * and counts the live endpoints whose secret this server's audit key cannot open, so a wrong key is
 * reported at start and not only at the first delivery.
 */
export function sealStoredWebhookSecrets(
  database: Database,
  auditKey: Buffer,
): Promise<{ valuesSealed: number; endpointsUnopenable: string[] }> {
  return database.writeTransaction(async (session) => {
    await takeStartupLock(session);
    const rows = await queryBuilder(session)
      .selectFrom('webhook_endpoints')
      .select(['environment_id', 'id', 'secret', 'previous_secret', 'deleted_at'])
      .orderBy('environment_id')
      .orderBy('id')
      .execute();
    let valuesSealed = 0;
    const endpointsUnopenable: string[] = [];
    const changed: SqlRow[] = [];
    for (const row of rows) {
      const owner = { environmentId: row.environment_id, endpointId: row.id };
      const seal = <Value extends string | null>(value: Value): Value | string => {
        if (value === null || !value.startsWith('whsec_')) return value;
        valuesSealed += 1;
        return sealSecret(auditKey, owner, value);
      };
      const secret = seal(row.secret);
      const previousSecret = seal(row.previous_secret);
      if (secret !== row.secret || previousSecret !== row.previous_secret) {
        changed.push({
          environment_id: owner.environmentId,
          id: owner.endpointId,
          secret,
          previous_secret: previousSecret,
        });
      }
      if (row.deleted_at === null && !canOpen(auditKey, owner, secret)) endpointsUnopenable.push(owner.endpointId);
    }
    if (changed.length > 0) await session.updateMany('webhook_endpoints', ['environment_id', 'id'], changed);
    return { valuesSealed, endpointsUnopenable };
  });
}

function canOpen(auditKey: Buffer, owner: SecretOwner, stored: string): boolean {
  try {
    openSecret(auditKey, owner, stored);
    return true;
  } catch (error) {
    if (error instanceof SecretNotOpened) return false;
    throw error;
  }
}

/** A new delivery of one event to one endpoint, due at once; the event's id is its `webhook-id`. */
export function toDeliveryRow(
  environmentId: string,
  endpointId: string,
  event: { id: string; type: string },
  now: number,
): DeliveryRow {
  return {
    environment_id: environmentId,
    id: newId('whd', now),
    endpoint_id: endpointId,
    event_id: event.id,
    event_type: event.type,
    payload: JSON.stringify(event),
    status: 'pending',
    attempts: 0n,
    next_attempt_at: BigInt(now),
    last_status: null,
    last_error: null,
    created_at: BigInt(now),
    delivered_at: null,
  };
}

/**
 * Queues a synthetic `webhook.test` event for one endpoint, whatever its event-type filter. It is
 * not a lifecycle event: it is not in the outbox or the notification feed, and goes to no other
 * endpoint. The dispatcher sends it at its next tick like any delivery: signed, logged, retried.
 */
export function sendTestWebhook(service: LedgerService, caller: Caller, id: string): Promise<Reply> {
  return service.submit(
    caller,
    'sendTestWebhook',
    { id },
    {
      kind: 'task',
      async run(writer) {
        if ((await endpointRow(writer.session, caller.environmentId, id)) === undefined) {
          return problemReply(caller, 'webhook_endpoint_not_found', `No webhook endpoint "${id}" in this environment.`);
        }
        const eventId = newId('evt', writer.now);
        const event = { id: eventId, type: 'webhook.test', timestamp: toTimestamp(writer.now), data: { endpoint: id } };
        const row = toDeliveryRow(caller.environmentId, id, event, writer.now);
        await writer.session.insertMany('webhook_deliveries', [row]);
        return okReply(201, toWireDelivery(row, []));
      },
    },
  );
}

export function toWireDelivery(row: DeliveryRow, attempts: readonly TableRow<'webhook_attempts'>[]) {
  return {
    id: row.id,
    endpoint: row.endpoint_id,
    event: row.event_id,
    event_type: row.event_type,
    status: row.status,
    attempts: attempts.map((attempt) => ({
      attempt: Number(attempt.attempt),
      status_code: attempt.status_code === null ? null : Number(attempt.status_code),
      error: attempt.error,
      duration_ms: Number(attempt.duration_ms),
      at: toTimestamp(toTime(attempt.at)),
    })),
    next_attempt_at: row.status === 'pending' ? toTimestamp(toTime(row.next_attempt_at)) : null,
    created_at: toTimestamp(toTime(row.created_at)),
    delivered_at: row.delivered_at === null ? null : toTimestamp(toTime(row.delivered_at)),
  };
}

const deliveryKeys = keyset('webhook_deliveries', 'desc', textColumn('id'));

/** An endpoint's deliveries, newest first, each with every attempt. */
export async function listWebhookDeliveries(
  service: LedgerService,
  caller: Caller,
  endpointId: string,
  query: PageQuery & { customer?: string | undefined },
): Promise<Reply> {
  if ((await endpointRow(service.database.reader, caller.environmentId, endpointId)) === undefined) {
    return problemReply(
      caller,
      'webhook_endpoint_not_found',
      `No webhook endpoint "${endpointId}" in this environment.`,
    );
  }
  const reader = service.database.reader;
  const filters = {
    'environment_id = ?': caller.environmentId,
    'endpoint_id = ?': endpointId,
    // The customer is the outbox event's, whose id every delivery of it carries.
    'EXISTS (SELECT 1 FROM outbox o WHERE o.id = webhook_deliveries.event_id AND o.customer_id = ?)': query.customer,
  };
  const found = await readPage(reader, 'webhook_deliveries', deliveryKeys, filters, query);
  if (isFieldError(found)) return fieldReply(caller, [found]);
  const ids = found.rows.map((row) => row.id);
  const attempts = await childRowsOf(reader, 'webhook_attempts', 'delivery_id', caller.environmentId, ids, 'attempt');
  const data = found.rows.map((row) => toWireDelivery(row, attempts.get(row.id) ?? []));
  return okReply(200, { data, next_cursor: found.nextCursor });
}

export async function redeliverWebhook(service: LedgerService, caller: Caller, deliveryId: string): Promise<Reply> {
  return service.submit(
    caller,
    'redeliverWebhook',
    { deliveryId },
    {
      kind: 'task',
      async run(writer) {
        const row = await queryBuilder(writer.session)
          .selectFrom('webhook_deliveries')
          .selectAll()
          .where('environment_id', '=', caller.environmentId)
          .where('id', '=', deliveryId)
          .executeTakeFirst();
        if (row === undefined) {
          return problemReply(
            caller,
            'webhook_delivery_not_found',
            `No webhook delivery "${deliveryId}" in this environment.`,
          );
        }
        const set = { status: 'pending', next_attempt_at: BigInt(writer.now), created_at: BigInt(writer.now) };
        await writer.session.updateMany(
          'webhook_deliveries',
          ['environment_id', 'id'],
          [{ environment_id: caller.environmentId, id: deliveryId, ...set }],
        );
        return okReply(202, toWireDelivery({ ...row, ...set }, []));
      },
    },
  );
}

const notificationKeys = keyset('outbox', 'desc', textColumn('id'));

/** The lifecycle events the ledger wrote to its outbox, newest first. */
export async function listNotifications(
  service: LedgerService,
  caller: Caller,
  query: PageQuery & { type?: string | undefined; customer?: string | undefined },
): Promise<Reply> {
  const filters = {
    'environment_id = ?': caller.environmentId,
    'type = ?': query.type,
    'customer_id = ?': query.customer,
  };
  const found = await readPage(service.database.reader, 'outbox', notificationKeys, filters, query);
  if (isFieldError(found)) return fieldReply(caller, [found]);
  return okReply(200, { data: found.rows.map((row) => toNotification(row)), next_cursor: found.nextCursor });
}

/** A lifecycle event as it is listed and as a webhook carries it. */
export function toNotification(row: TableRow<'outbox'>) {
  return {
    id: row.id,
    type: row.type,
    timestamp: toTimestamp(toTime(row.created_at)),
    data: {
      customer: row.customer_id,
      // Subscription events belong to a customer, not to one of its wallets.
      ...(row.asset === '' ? {} : { asset: row.asset }),
      ...(JSON.parse(row.data) as Record<string, unknown>),
    },
  };
}
