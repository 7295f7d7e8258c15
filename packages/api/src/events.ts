/**
 * The payloads of lifecycle events: what `GET /v1/notifications` lists and what a webhook delivery
 * carries, one named schema per event type the server emits (and the test event of
 * `sendTestWebhook`). Amounts in `data` are decimal strings in the asset's unit.
 */
import type { EventType } from '@bursar/core';
import { eventTypes } from '@bursar/core';
import { z } from 'zod';

const amountText = z.string().describe('A decimal string in the asset unit, e.g. "12.5"');
const timeText = z.string().meta({ format: 'date-time' });

/** What every wallet event's data names: the wallet it happened to. */
const walletData = { customer: z.string(), asset: z.string() };

/** What every subscription event's data names; subscription events belong to a customer, not to a wallet. */
const subscriptionData = { customer: z.string(), subscription: z.string(), plan: z.string(), version: z.int() };
const periodData = { period: z.int(), period_starts_at: timeText, period_ends_at: timeText };
const topUpData = { ...walletData, top_up: z.string(), amount: amountText };

/** The fields of each event type's `data`. */
const eventData: Readonly<Record<EventType, z.ZodRawShape>> = {
  'grant.created': {
    ...walletData,
    grant: z.string(),
    amount: amountText,
    category: z.string(),
    source: z.string().optional().describe('What issued it: a plan allowance, a top-up, …'),
    rolled_from: z.string().optional().describe('The expired grant whose unused credit rolled into this one.'),
  },
  'grant.depleted': { ...walletData, grant: z.string() },
  'grant.expired': {
    ...walletData,
    grant: z.string(),
    amount: amountText.describe('What expired.'),
    rolled_over: amountText.optional().describe('The part that rolled into a new grant.'),
    rollover_grant: z.string().optional(),
  },
  'grant.voided': {
    ...walletData,
    grant: z.string(),
    amount: amountText.describe('The unreserved remainder moved out.'),
  },
  'grant.expiring_soon': {
    ...walletData,
    grant: z.string(),
    category: z.string(),
    remaining: amountText,
    expires_at: timeText,
  },
  'hold.expired': { ...walletData, hold: z.string(), amount: amountText.describe("The hold's amount.") },
  'debt.created': { ...walletData, debt: amountText },
  'balance.depleted': walletData,
  'balance.low': { ...walletData, available: amountText, threshold: amountText },
  'balance.recovered': { ...walletData, available: amountText, threshold: amountText },
  'subscription.created': {
    ...subscriptionData,
    ...periodData,
    status: z.string(),
    trial_ends_at: timeText.nullable(),
  },
  'subscription.renewed': { ...subscriptionData, ...periodData },
  'subscription.changed': {
    ...subscriptionData,
    from: z.string().describe('The plan before, `plan@version`.'),
    to: z.string().describe('The plan after, `plan@version`.'),
    timing: z.enum(['immediate', 'period_end']),
    effective_at: timeText,
    period: periodData.period.optional(),
    period_starts_at: timeText.optional(),
    period_ends_at: timeText.optional(),
  },
  'subscription.paused': { ...subscriptionData, paused_at: timeText },
  'subscription.resumed': { ...subscriptionData, ...periodData },
  'subscription.canceled': {
    ...subscriptionData,
    timing: z.enum(['immediate', 'period_end']),
    effective_at: timeText,
  },
  'subscription.ended': { ...subscriptionData, ended_at: timeText, reason: z.string() },
  'subscription.trial_ending': { ...subscriptionData, trial_ends_at: timeText.nullable() },
  'subscription.trial_ended': { ...subscriptionData, trial_ends_at: timeText, outcome: z.string() },
  'topup.requested': { ...topUpData, threshold: amountText },
  'topup.succeeded': { ...topUpData, grant: z.string(), reference: z.string().nullable() },
  'topup.failed': {
    ...topUpData,
    reason: z.string().nullable(),
    reference: z.string().nullable(),
    failures: z.int().describe('Failed top-ups in a row.'),
    failures_max: z.int().nullable(),
  },
  'margin.low': {
    ...walletData,
    currency: z.string().describe('The currency asset revenue is counted in (model prices are in USD).'),
    revenue: z.string().describe('Revenue recognized in the window, exact, in the currency.'),
    provider_cost: z.string().describe('Provider cost in the window, exact USD.'),
    margin_percent: z.string().nullable().describe('Gross margin percentage over the window; null without revenue.'),
    threshold: z.string().describe('The margin percentage it fell below.'),
    window_days: z.int(),
  },
};

function toSchemaName(type: string): string {
  return `${type.replace(/(?:^|[._])([a-z])/g, (_match, letter: string) => letter.toUpperCase())}Event`;
}

function eventPayload(type: string, data: z.ZodRawShape) {
  return z
    .object({
      id: z.string().describe('The event id; a webhook delivery sends it as webhook-id on every attempt.'),
      type: z.literal(type),
      timestamp: timeText,
      data: z.object(data),
    })
    .meta({ id: toSchemaName(type) });
}

type EventPayload = ReturnType<typeof eventPayload>;

/** Every lifecycle event's payload by type, each named like `GrantCreatedEvent`. */
export const eventPayloads: Readonly<Record<EventType, EventPayload>> = Object.fromEntries(
  eventTypes.map((type) => [type, eventPayload(type, eventData[type])]),
) as Record<EventType, EventPayload>;

/** The same payloads as a list for a union over them; the core's `eventTypes` is a non-empty tuple. */
export const lifecycleEventPayloads = eventTypes.map((type) => eventPayloads[type]) as [
  EventPayload,
  ...EventPayload[],
];

/** The payload of the test event `sendTestWebhook` queues: not a lifecycle event, never in the notifications feed. */
export const testEventPayload = eventPayload('webhook.test', { endpoint: z.string() });

export type { EventType };
export { eventTypes };
