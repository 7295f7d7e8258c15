/**
 * Request and response schemas of the customer portal: the session an integrator's backend mints
 * for one customer, what a portal session may read and change, and the operator's portal settings.
 */
import { z } from 'zod';
import {
  amountNonNegativeField,
  amountPositiveField,
  assetCodeField,
  cursorField,
  customerKeyField,
  decimalNonNegativeField,
  featureKeyField,
  integerField,
  pageLimitField,
  timestampField,
} from './fields.ts';
import { holdResource, listGrantsQuery, pageOf } from './schemas.ts';

/** Portal sessions live 15 minutes unless the integrator asks otherwise, and at most an hour. */
export const portalSessionTtlDefaultSeconds = 900;
export const portalSessionTtlMinSeconds = 60;
export const portalSessionTtlMaxSeconds = 3600;

const urlField = z.url({ protocol: /^https?$/, error: 'must be an absolute http or https URL' }).max(2000);
const amountText = z.string().describe('A decimal string in the asset unit, e.g. "12.5"');
const timeText = z.string().meta({ format: 'date-time' });

export const createPortalSessionBody = z.strictObject({
  customer: customerKeyField,
  return_url: urlField.describe('Where the portal sends the customer back to (its "back" link).'),
  ttl_seconds: integerField(portalSessionTtlMinSeconds, portalSessionTtlMaxSeconds)
    .default(portalSessionTtlDefaultSeconds)
    .describe('How long the session lasts, 60–3600 seconds.'),
});

export const portalSessionCreatedResource = z
  .object({
    id: z.string(),
    customer: z.string(),
    url: z.string().describe("Open once in the customer's browser: exchanges its one-time code for the portal cookie."),
    token: z.string().describe('A bearer token (bps_…) for widgets on your own pages; shown once.'),
    expires_at: timeText,
    return_url: z.string(),
  })
  .meta({ id: 'PortalSessionCreated' });

const brandingShape = {
  name: z.string().nullable(),
  logo_url: z.string().nullable(),
  accent_color: z.string().nullable().describe('A CSS hex colour such as #3355ff.'),
};

const autoRechargeLimitsShape = {
  editable: z.boolean().describe('Whether customers may change their auto-recharge settings in the portal.'),
  threshold_max: amountText.nullable().describe('The highest threshold a customer may set; null: no bound.'),
  amount_min: amountText.nullable(),
  amount_max: amountText.nullable(),
  monthly_cap_max: amountText.nullable().describe('The highest monthly cap; when set, a cap is required.'),
};

const portalSubscriptionShape = {
  id: z.string(),
  plan: z.object({ id: z.string(), name: z.string().nullable(), version: z.int() }),
  status: z.enum(['trialing', 'active', 'paused']),
  current_period: z
    .object({ start: timeText, end: timeText })
    .nullable()
    .describe('The billing period running now; null while the subscription is paused.'),
};

export const portalSessionResource = z
  .object({
    customer: z.object({ id: z.string(), name: z.string().nullable() }),
    expires_at: timeText,
    return_url: z.string(),
    csrf_token: z
      .string()
      .nullable()
      .describe('Send as x-csrf-token on every write made with the portal cookie; null with a bearer token.'),
    branding: z.object(brandingShape),
    top_up: z.object({
      available: z.boolean(),
      reason: z.string().optional().describe('Why top-up is unavailable.'),
      assets: z.array(z.object({ asset: z.string(), currency: z.string(), unit_price: z.string() })),
    }),
    auto_recharge_limits: z.object(autoRechargeLimitsShape),
    subscriptions: z
      .array(z.object(portalSubscriptionShape))
      .describe("The customer's subscriptions not yet ended (canceled or ended ones are left out), oldest first."),
  })
  .meta({ id: 'PortalSession' });

export const listPortalGrantsQuery = z.strictObject({
  asset: assetCodeField.optional(),
  status: listGrantsQuery.shape.status,
  cursor: cursorField.optional(),
  limit: pageLimitField,
});

export const portalHoldPage = pageOf(holdResource, 'PortalHoldPage');

export const portalUsageQuery = z.strictObject({
  from: timestampField,
  to: timestampField,
  granularity: z.enum(['hour', 'day']).optional().describe('Bucket size (default day).'),
  feature: featureKeyField.optional(),
});

export const portalPageQuery = z.strictObject({
  cursor: cursorField.optional(),
  limit: pageLimitField,
});

export const portalAutoRechargeQuery = z.strictObject({ asset: assetCodeField });

export const updatePortalAutoRechargeBody = z.strictObject({
  asset: assetCodeField,
  enabled: z.boolean(),
  threshold: amountNonNegativeField.describe('A top-up is requested when available credit falls below this.'),
  amount: amountPositiveField.describe('Credit added by each top-up.'),
  monthly_cap: amountPositiveField.nullable().describe('At most this much topped up per calendar month; null: none.'),
});

export const portalAutoRechargeResource = z
  .object({
    asset: z.string(),
    enabled: z.boolean(),
    threshold: amountText.nullable(),
    amount: amountText.nullable(),
    monthly_cap: amountText.nullable(),
    status: z.enum(['active', 'disabled', 'stopped_after_failures', 'not_set']),
    spent_this_month: amountText,
  })
  .meta({ id: 'PortalAutoRecharge' });

export const createPortalTopUpBody = z.strictObject({
  asset: assetCodeField,
  amount: amountPositiveField,
});

export const portalTopUpResource = z
  .object({ checkout_url: z.string(), expires_at: timeText.nullable() })
  .meta({ id: 'PortalTopUp' });

const accentColorField = z.string().regex(/^#[0-9A-Fa-f]{6}$/, 'must be a hex colour such as #3355ff');

export const portalSettingsBody = z.strictObject({
  branding: z.strictObject({
    name: z.string().min(1).max(100).nullable(),
    logo_url: z
      .url({ protocol: /^https?$/, error: 'must be an absolute http or https URL' })
      .max(2000)
      .nullable(),
    accent_color: accentColorField.nullable(),
  }),
  auto_recharge: z.strictObject({
    editable: z.boolean(),
    threshold_max: amountNonNegativeField.nullable(),
    amount_min: amountPositiveField.nullable(),
    amount_max: amountPositiveField.nullable(),
    monthly_cap_max: amountPositiveField.nullable(),
  }),
  top_up: z.strictObject({
    prices: z
      .array(
        z.strictObject({
          asset: assetCodeField,
          currency: assetCodeField.describe('The currency Stripe charges in, also an asset of this environment.'),
          unit_price: decimalNonNegativeField.describe('What one unit of the asset costs, e.g. "0.01".'),
        }),
      )
      .max(20),
  }),
});

export const portalSettingsResource = z
  .object({
    branding: z.object(brandingShape),
    auto_recharge: z.object(autoRechargeLimitsShape),
    top_up: z.object({
      prices: z.array(z.object({ asset: z.string(), currency: z.string(), unit_price: z.string() })),
    }),
  })
  .meta({ id: 'PortalSettings' });

export type CreatePortalSessionBody = z.output<typeof createPortalSessionBody>;
export type UpdatePortalAutoRechargeBody = z.output<typeof updatePortalAutoRechargeBody>;
export type PortalSettingsBody = z.output<typeof portalSettingsBody>;
