/**
 * Request and response schemas of plans, subscriptions and entitlement checks. A plan version's
 * body is stored as it is given (amounts normalized), so what a client publishes is what it reads.
 */
import { grantCategories, intervals, parseDecimal, rational } from '@bursar/core';
import { z } from 'zod';
import {
  amountPositiveField,
  assetCodeField,
  cursorField,
  customerKeyField,
  decimalNonNegativeField,
  eventPropertiesField,
  featureKeyField,
  integerField,
  metadataField,
  pageLimitField,
  reasonField,
} from './fields.ts';
import { pageOf } from './schemas.ts';

export const planIdField = z.string().regex(/^[a-z][a-z0-9_-]{0,63}$/, 'must be lower-case letters, digits, _ and -');
const bookKeyField = z.string().regex(/^[a-z][a-z0-9_-]{0,63}$/, 'must be lower-case letters, digits, _ and -');

const cadence = z
  .strictObject({
    interval: z.enum(intervals),
    count: integerField(1, 1000).optional().describe('Every this many intervals (default 1).'),
  })
  .describe('A length of time counted on the wall clock of the subscription’s time zone.');

const percentMax = rational.fromInteger(100n);

/** Why a rollover percent is refused, compared exactly: "100.000000000000000001" is over 100. */
function percentRefusal(text: string): string | null {
  const parsed = parseDecimal(text);
  if (!parsed.ok) return parsed.reason;
  return rational.compare(rational.fromDecimal(parsed.value), percentMax) > 0 ? 'must be at most 100' : null;
}

const rollover = z
  .strictObject({
    kind: z.enum(['none', 'all', 'amount', 'percent']),
    amount_max: amountPositiveField.optional().describe('For `amount`: the most one period carries over.'),
    percent: decimalNonNegativeField.optional().describe('For `percent`: the share of the allowance carried, 0–100.'),
    expires_after: cadence
      .nullable()
      .optional()
      .describe('How long rolled credit lives after its period ends; null: never.'),
  })
  .superRefine((rule, context) => {
    const needs = { amount: 'amount_max', percent: 'percent' } as const;
    for (const [kind, field] of Object.entries(needs)) {
      const present = rule[field as 'amount_max' | 'percent'] !== undefined;
      if (rule.kind === kind && !present) context.addIssue({ code: 'custom', path: [field], message: 'is required' });
      if (rule.kind !== kind && present)
        context.addIssue({ code: 'custom', path: [field], message: `applies only to kind "${kind}"` });
    }
    if (rule.kind === 'percent' && rule.percent !== undefined) {
      const message = percentRefusal(rule.percent);
      if (message !== null) context.addIssue({ code: 'custom', path: ['percent'], message });
    }
    if (rule.kind === 'none' && rule.expires_after !== undefined)
      context.addIssue({ code: 'custom', path: ['expires_after'], message: 'does not apply to kind "none"' });
  });

const featuresField = z.array(featureKeyField).min(1).max(50).nullable().optional();
const priorityField = integerField(0, 1_000_000).optional();

const allowance = z.strictObject({
  asset: assetCodeField,
  amount: amountPositiveField,
  cadence: cadence.optional().describe('Default: the plan’s period.'),
  rollover: rollover.optional().describe('Default: none (unused allowance expires as breakage).'),
  priority: priorityField,
  features: featuresField,
});

const oneTimeGrant = z.strictObject({
  asset: assetCodeField,
  amount: amountPositiveField,
  category: z.enum(grantCategories).optional().describe('Default: plan.'),
  expires_after: cadence.nullable().optional().describe('Default: never.'),
  priority: priorityField,
  features: featuresField,
});

const trial = z.strictObject({
  duration: cadence,
  grants: z
    .array(z.strictObject({ asset: assetCodeField, amount: amountPositiveField }))
    .max(20)
    .optional(),
  on_end: z
    .enum(['convert', 'end'])
    .optional()
    .describe('When the trial ends: convert to the paid plan (default) or end the subscription.'),
  notice_before: cadence.optional().describe('When `subscription.trial_ending` is sent; default 3 days before.'),
});

const entitlement = z.discriminatedUnion('kind', [
  z.strictObject({ feature: featureKeyField, kind: z.literal('boolean'), enabled: z.boolean() }),
  z.strictObject({ feature: featureKeyField, kind: z.literal('limit'), limit: decimalNonNegativeField }),
  z.strictObject({
    feature: featureKeyField,
    kind: z.literal('metered'),
    limit: decimalNonNegativeField,
    cadence: cadence.optional().describe('Default: the plan’s period.'),
    quantity: z.string().max(64).optional().describe("The meter quantity counted; default the feature's first."),
  }),
]);

export const planVersionBody = z.strictObject({
  period: cadence,
  allowances: z.array(allowance).max(20).optional(),
  one_time_grants: z.array(oneTimeGrant).max(20).optional(),
  trial: trial.nullable().optional(),
  entitlements: z.array(entitlement).max(100).optional(),
  price_overrides: z
    .array(z.strictObject({ feature: featureKeyField, price_book: bookKeyField }))
    .max(100)
    .optional(),
});

export const createPlanBody = z.strictObject({
  id: planIdField,
  name: z.string().min(1).max(200).optional(),
  version: planVersionBody.describe('Version 1 of the plan.'),
});

export const planParams = z.strictObject({ plan: planIdField });

const planRef = {
  plan: planIdField,
  version: integerField(1, 1_000_000).optional().describe('Default: the latest version.'),
};

export const createSubscriptionBody = z.strictObject({
  customer: customerKeyField,
  ...planRef,
  time_zone: z.string().min(1).max(64).optional().describe('IANA time zone periods are counted in; default UTC.'),
  trial: z.boolean().optional().describe("Start with the plan's trial (default true when the plan has one)."),
  metadata: metadataField.optional(),
});

export const listSubscriptionsQuery = z.strictObject({
  customer: customerKeyField.optional(),
  status: z.enum(['trialing', 'active', 'paused', 'canceled', 'ended']).optional(),
  cursor: cursorField.optional(),
  limit: pageLimitField,
});

const timing = z.enum(['immediate', 'period_end']);

/** Why an operator made the change; kept in its audit event. */
const changeReason = reasonField.optional().describe("Why; kept in the change's audit event.");

const planChange = {
  action: z.literal('change_plan'),
  ...planRef,
  timing: timing.optional().describe('Default: immediate (an upgrade); period_end suits a downgrade.'),
};

export const changeSubscriptionBody = z.discriminatedUnion('action', [
  z.strictObject({
    ...planChange,
    reason: changeReason,
    preview_token: z
      .string()
      .regex(/^pvt_[A-Za-z0-9_-]{43}$/, 'must be a preview_token answered by previewSubscriptionChange')
      .optional()
      .describe(
        'From previewSubscriptionChange: the change is refused (subscription_preview_stale) unless the subscription and its wallets are as previewed.',
      ),
    require_preview: z
      .boolean()
      .optional()
      .describe('true: refuse the change (subscription_preview_required) when no preview_token is given.'),
  }),
  z.strictObject({ action: z.literal('pause'), reason: changeReason }),
  z.strictObject({ action: z.literal('resume'), reason: changeReason }),
]);

/** The change action of changeSubscription, previewed: what the change would do, before it does it. */
export const previewSubscriptionChangeBody = z.strictObject(planChange);

export const cancelSubscriptionBody = z.strictObject({
  timing: timing.optional().describe('Default: period_end.'),
  reason: changeReason,
});

export const checkEntitlementBody = z.strictObject({
  feature: featureKeyField,
  quantity: decimalNonNegativeField
    .optional()
    .describe('How much of the feature the customer wants to use; default 1.'),
  quantities: eventPropertiesField
    .optional()
    .describe("The usage to price for the credit check, as event properties; default the feature's first quantity."),
});

export type PlanVersionBody = z.output<typeof planVersionBody>;
export type CreatePlanBody = z.output<typeof createPlanBody>;
export type PlanParams = z.output<typeof planParams>;
export type CreateSubscriptionBody = z.output<typeof createSubscriptionBody>;
export type ListSubscriptionsQuery = z.output<typeof listSubscriptionsQuery>;
export type ChangeSubscriptionBody = z.output<typeof changeSubscriptionBody>;
export type PreviewSubscriptionChangeBody = z.output<typeof previewSubscriptionChangeBody>;
export type CancelSubscriptionBody = z.output<typeof cancelSubscriptionBody>;
export type CheckEntitlementBody = z.output<typeof checkEntitlementBody>;

// ---- Responses ----

const timeText = z.string().meta({ format: 'date-time' });

export const planVersionResource = z
  .object({
    version: z.int(),
    definition: z.record(z.string(), z.unknown()),
    created_at: timeText,
  })
  .meta({ id: 'PlanVersion' });

export const planResource = z
  .object({
    id: z.string(),
    name: z.string().nullable(),
    latest_version: z.int(),
    versions: z.array(planVersionResource),
    created_at: timeText,
  })
  .meta({ id: 'Plan' });

const periodResource = z.object({
  index: z.int(),
  starts_at: timeText,
  ends_at: timeText,
  plan: z.string(),
  version: z.int(),
});

export const subscriptionResource = z
  .object({
    id: z.string(),
    customer: z.string(),
    plan: z.string(),
    version: z.int(),
    status: z.enum(['trialing', 'active', 'paused', 'canceled', 'ended']),
    time_zone: z.string(),
    current_period: z.object({ index: z.int(), starts_at: timeText, ends_at: timeText }),
    trial_ends_at: timeText.nullable(),
    cancel_at_period_end: z.boolean(),
    pending_change: z.object({ plan: z.string(), version: z.int(), at: timeText }).nullable(),
    paused_at: timeText.nullable(),
    ended_at: timeText.nullable(),
    next_due_at: timeText.nullable(),
    metadata: z.record(z.string(), z.string()).nullable(),
    created_at: timeText,
    periods: z.array(periodResource).describe('Every period so far, newest first (at most 100).'),
  })
  .meta({ id: 'Subscription' });

const amountText = z.string().describe("A decimal amount in the asset's unit.");

export const subscriptionChangePreviewResource = z
  .object({
    subscription: z.string(),
    from: z.object({ plan: z.string(), version: z.int() }),
    to: z.object({ plan: z.string(), version: z.int() }),
    timing: timing,
    effective_at: timeText,
    period: z
      .object({ starts_at: timeText, ends_at: timeText })
      .describe("The new plan's first period: an immediate change starts whole periods now."),
    proration: z
      .literal('none')
      .describe(
        'Allowances are never prorated: the new plan grants whole periods from effective_at, and the current plan’s credit stays until its own expiry.',
      ),
    assets: z.array(
      z.object({
        asset: z.string(),
        new_allowance: amountText.describe("The new plan's allowance credit the change issues."),
        one_time_grants: amountText,
        remaining_credit: z
          .object({
            kept: amountText.describe("The current plan's credit spendable now that stays until it expires."),
            rolls_over: amountText.describe('Of it, what rolls over when it expires, if it is not spent first.'),
            voided: amountText.describe('Credit issued ahead for periods that will not come, voided now.'),
            lots: z.array(
              z.object({
                grant: z.string(),
                remaining: amountText,
                expires_at: timeText.nullable(),
                fate: z.enum(['kept', 'voided']),
                rolls_over: amountText,
              }),
            ),
          })
          .describe("What happens to the current plan's credit."),
        balance_before: amountText.describe('The balance now.'),
        balance_after: amountText.describe('The balance when the change takes effect, with no other activity.'),
        available_after: amountText,
        debt_after: amountText,
      }),
    ),
    warnings: z.array(
      z.object({ code: z.literal('negative_balance'), asset: z.string(), balance: amountText, message: z.string() }),
    ),
    preview_token: z
      .string()
      .describe(
        'Pass it to changeSubscription: the change is refused if the subscription or its wallets changed since.',
      ),
  })
  .meta({ id: 'SubscriptionChangePreview' });

export const entitlementCheckResource = z
  .object({
    customer: z.string(),
    feature: z.string(),
    quantity: z.string(),
    allowed: z.boolean(),
    reason: z
      .enum(['not_entitled', 'feature_disabled', 'limit_exceeded', 'usage_limit_exceeded', 'insufficient_balance'])
      .nullable(),
    entitlement: z.record(z.string(), z.unknown()).nullable(),
    used: z.string().nullable().describe('Metered entitlements: usage in the current period.'),
    remaining: z.string().nullable().describe('What is left of the deciding limit after this quantity.'),
    credit: z.object({ asset: z.string(), cost: z.string(), available: z.string() }).nullable(),
    subscriptions: z.array(z.string()),
  })
  .meta({ id: 'EntitlementCheck' });

export const planPage = pageOf(planResource, 'PlanPage');
export const subscriptionPage = pageOf(subscriptionResource, 'SubscriptionPage');
