/**
 * Request and response schemas of auto top-up: a wallet's rule and its state, the top-ups it
 * requested, and the outcome an integrator reports when it charges the customer itself.
 */
import { z } from 'zod';
import {
  amountNonNegativeField,
  amountPositiveField,
  assetCodeField,
  cursorField,
  decimalNonNegativeField,
  integerField,
  pageLimitField,
  reasonField,
} from './fields.ts';
import { pageOf } from './schemas.ts';

const topUpStatuses = ['requested', 'succeeded', 'failed'] as const;

const costBody = z
  .strictObject({
    currency: assetCodeField.describe('The code of an asset of this environment (e.g. usd), created with createAsset.'),
    total: decimalNonNegativeField,
  })
  .describe("What the customer pays for each top-up, in a currency asset (e.g. usd); kept as the grant's cost basis.");

export const putAutoTopUpRuleBody = z.strictObject({
  enabled: z.boolean(),
  threshold: amountNonNegativeField.describe('A top-up is requested when available credit falls below this.'),
  amount: amountPositiveField.describe('Credit added by each top-up.'),
  monthly_cap: amountPositiveField
    .nullable()
    .default(null)
    .describe('At most this much topped up per calendar month (UTC); null: no cap.'),
  failures_max: integerField(1, 100).default(3).describe('Failed top-ups in a row after which the rule stops.'),
  cost: costBody.optional(),
  reason: reasonField.optional(),
});

export const listTopUpsQuery = z.strictObject({
  status: z.enum(topUpStatuses).optional(),
  cursor: cursorField.optional(),
  limit: pageLimitField,
});

export const settleTopUpBody = z.strictObject({
  outcome: z.enum(['succeeded', 'failed']),
  reference: z.string().min(1).max(200).optional().describe("The payment's id at your provider."),
  reason: reasonField.optional().describe('Why the payment failed.'),
  cost: costBody.optional().describe("What the customer paid, when it differs from the rule's cost."),
});

export type PutAutoTopUpRuleBody = z.output<typeof putAutoTopUpRuleBody>;
export type ListTopUpsQuery = z.output<typeof listTopUpsQuery>;
export type SettleTopUpBody = z.output<typeof settleTopUpBody>;

const amountText = z.string().describe('A decimal string in the asset unit, e.g. "12.5"');
const timeText = z.string().meta({ format: 'date-time' });
const costResource = z.object({ currency: z.string(), total: z.string() });

export const autoTopUpRuleResource = z
  .object({
    customer: z.string(),
    asset: z.string(),
    enabled: z.boolean(),
    threshold: amountText,
    amount: amountText,
    monthly_cap: amountText.nullable(),
    failures_max: z.int(),
    cost: costResource.nullable(),
    status: z
      .enum(['active', 'disabled', 'stopped_after_failures'])
      .describe('stopped_after_failures: failures_max failures in a row; put the rule again to re-arm it.'),
    pending_top_up: z.string().nullable().describe('The top-up requested and not settled yet.'),
    month: z.string().describe('The current month (UTC), YYYY-MM.'),
    spent_this_month: amountText.describe('Top-ups requested this month, failed ones excepted.'),
    failures: z.int().describe('Failed top-ups in a row.'),
  })
  .meta({ id: 'AutoTopUpRule' });

export const topUpResource = z
  .object({
    id: z.string(),
    customer: z.string(),
    asset: z.string(),
    amount: amountText,
    status: z.enum(topUpStatuses),
    reason: z.string().nullable(),
    provider_reference: z.string().nullable(),
    cost: costResource.nullable(),
    grant: z.string().nullable().describe('The paid grant a successful top-up created.'),
    attempts: z.int().describe('Times it was handed to the payment provider.'),
    created_at: timeText,
    settled_at: timeText.nullable(),
  })
  .meta({ id: 'TopUp' });

export const topUpPage = pageOf(topUpResource, 'TopUpPage');
