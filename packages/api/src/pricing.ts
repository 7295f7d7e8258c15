/**
 * Request and response schemas of the pricing catalog: features and their meters, price books
 * and their versions, the provider model-price catalog, and cost quotes.
 */
import { roundingModes } from '@bursar/core';
import { z } from 'zod';
import { lifecycleEventPayloads } from './events.ts';
import {
  amountNonNegativeField,
  assetCodeField,
  cursorField,
  customerKeyField,
  decimalNonNegativeField,
  eventPropertiesField,
  featureKeyField,
  integerField,
  pageLimitField,
  timestampField,
} from './fields.ts';
import { eventsPerRequestMax } from './limits.ts';
import { planIdField, planVersionBody } from './plans.ts';
import { pageOf } from './schemas.ts';

const quantityNameField = z
  .string()
  .regex(/^[a-z][a-z0-9_]{0,63}$/, 'must be lower-case letters, digits and _ (a quantity name)');
const propertyNameField = z.string().regex(/^[A-Za-z_][A-Za-z0-9_.]{0,99}$/, 'must be an event property name');
const bookKeyField = z.string().regex(/^[a-z][a-z0-9_-]{0,63}$/, 'must be lower-case letters, digits, _ and -');
const modelField = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:/@-]{0,127}$/, 'must be a model name such as "gpt-4o"');

const quantitySource = z.union([
  z.strictObject({ count: z.literal(true) }),
  z.strictObject({ property: propertyNameField }),
]);

export const createFeatureBody = z.strictObject({
  key: featureKeyField,
  name: z.string().min(1).max(200).optional(),
  quantities: z
    .record(quantityNameField, quantitySource)
    .refine((quantities) => Object.keys(quantities).length >= 1 && Object.keys(quantities).length <= 16, {
      message: 'must name 1 to 16 quantities',
    })
    .optional()
    .describe('How an event becomes quantities; default: one `units` per event.'),
});

export const createPriceBookBody = z.strictObject({
  key: bookKeyField,
  name: z.string().min(1).max(200).optional(),
  default: z.boolean().optional().describe("The environment's default price book prices every customer's events."),
});

const perField = integerField(1, 1_000_000_000).optional().describe('The price is per this many units (default 1).');

const rateBody = z
  .strictObject({
    when: z.record(propertyNameField, z.string().max(200)).optional(),
    per_unit: z.strictObject({ unit_price: decimalNonNegativeField, per: perField }).optional(),
    graduated: z
      .strictObject({
        tiers: z
          .array(
            z.strictObject({
              up_to: decimalNonNegativeField.nullable(),
              unit_price: decimalNonNegativeField,
              per: perField,
            }),
          )
          .min(1)
          .max(20),
      })
      .optional(),
    cost_plus: z
      .strictObject({
        provider_price: z.enum(['input', 'output', 'cached_input', 'cache_write']),
        markup: decimalNonNegativeField,
        asset_per_usd: decimalNonNegativeField.describe(
          'Units of the asset per US dollar, e.g. 1000 when 1 credit = $0.001.',
        ),
      })
      .optional(),
  })
  .refine(
    (rate) => [rate.per_unit, rate.graduated, rate.cost_plus].filter((model) => model !== undefined).length === 1,
    {
      message: 'give exactly one of per_unit, graduated and cost_plus',
    },
  );

const optionBody = z.strictObject({
  asset: assetCodeField,
  rounding: z.enum(roundingModes).optional().describe('How the cost rounds to the asset scale (default up).'),
  minimum: amountNonNegativeField.optional().describe('The least one event costs.'),
  components: z
    .array(z.strictObject({ quantity: quantityNameField, rates: z.array(rateBody).min(1).max(100) }))
    .min(1)
    .max(16),
});

export const publishPriceVersionBody = z.strictObject({
  effective_from: timestampField
    .optional()
    .describe('Default now; never in the past, so charges already made never change.'),
  prices: z
    .array(
      z.strictObject({
        feature: featureKeyField,
        options: z.array(optionBody).min(1).max(8).describe('In preference order: fallback assets.'),
      }),
    )
    .min(1)
    .max(500),
});

export const upsertModelPriceBody = z.strictObject({
  model: modelField,
  provider: z.string().min(1).max(100).optional(),
  effective_from: timestampField.optional(),
  input_per_million: decimalNonNegativeField,
  output_per_million: decimalNonNegativeField,
  cached_input_per_million: decimalNonNegativeField.optional(),
  cache_write_per_million: decimalNonNegativeField.optional(),
  batch_discount: decimalNonNegativeField.optional().describe('The fraction off for batch requests, 0 to 1.'),
});

export const quoteCostBody = z.strictObject({
  feature: featureKeyField,
  customer: customerKeyField.optional().describe('With a customer: which option their wallets would pay with.'),
  timestamp: timestampField.optional(),
  properties: eventPropertiesField.optional(),
});

export const featureKeyParams = z.strictObject({ key: featureKeyField });
export const priceBookParams = z.strictObject({ key: bookKeyField });

export type CreateFeatureBody = z.output<typeof createFeatureBody>;
export type CreatePriceBookBody = z.output<typeof createPriceBookBody>;
export type PublishPriceVersionBody = z.output<typeof publishPriceVersionBody>;
export type UpsertModelPriceBody = z.output<typeof upsertModelPriceBody>;
export type QuoteCostBody = z.output<typeof quoteCostBody>;

const timeText = z.string().meta({ format: 'date-time' });

export const featureResource = z
  .object({
    key: z.string(),
    name: z.string().nullable(),
    quantities: z.record(z.string(), quantitySource),
    created_at: timeText,
  })
  .meta({ id: 'Feature' });

/** A published price as stored: the request's shape, with every decimal as a string. */
const storedRate = z.object({
  when: z.record(z.string(), z.string()).optional(),
  per_unit: z.object({ unit_price: z.string(), per: z.int().optional() }).optional(),
  graduated: z
    .object({
      tiers: z.array(z.object({ up_to: z.string().nullable(), unit_price: z.string(), per: z.int().optional() })),
    })
    .optional(),
  cost_plus: z.object({ provider_price: z.string(), markup: z.string(), asset_per_usd: z.string() }).optional(),
});
const storedPrice = z.object({
  feature: z.string(),
  options: z.array(
    z.object({
      asset: z.string(),
      rounding: z.string().optional(),
      minimum: z.string().optional(),
      components: z.array(z.object({ quantity: z.string(), rates: z.array(storedRate) })),
    }),
  ),
});

export const priceBookResource = z
  .object({
    key: z.string(),
    name: z.string().nullable(),
    default: z.boolean(),
    versions: z.array(
      z.object({
        version: z.int(),
        effective_from: timeText,
        prices: z.array(storedPrice),
        created_at: timeText,
      }),
    ),
    created_at: timeText,
  })
  .meta({ id: 'PriceBook' });

export const modelPriceResource = z
  .object({
    model: z.string(),
    provider: z.string().nullable(),
    effective_from: timeText,
    input_per_million: z.string(),
    output_per_million: z.string(),
    cached_input_per_million: z.string(),
    cache_write_per_million: z.string(),
    batch_discount: z.string(),
    created_at: timeText,
  })
  .meta({ id: 'ModelPrice' });

export const quoteResource = z
  .object({
    feature: z.string(),
    price_book: z.string(),
    version: z.int(),
    quantities: z.record(z.string(), z.string()),
    options: z.array(
      z.object({
        asset: z.string(),
        cost: z.string(),
        exact: z
          .string()
          .describe('The cost before rounding, as an exact decimal (18 places when it does not terminate).'),
        lines: z.array(
          z.object({
            quantity: z.string(),
            amount: z.string(),
            when: z.record(z.string(), z.string()),
            model: z.string(),
            cost: z.string(),
          }),
        ),
        covered: z
          .boolean()
          .nullable()
          .describe('With a customer: whether their wallet in this asset covers the cost now.'),
      }),
    ),
    pays_with: z
      .string()
      .nullable()
      .describe('With a customer: the first option their wallets cover (fallback order).'),
  })
  .meta({ id: 'Quote' });

export const ingestEventsBody = z.strictObject({
  events: z
    .array(
      z.strictObject({
        id: z
          .string()
          .regex(/^[\x21-\x7e]{1,200}$/, 'must be 1–200 printable characters: the event id deduplicates it'),
        customer: customerKeyField,
        feature: featureKeyField,
        timestamp: timestampField,
        properties: eventPropertiesField.optional(),
      }),
    )
    .min(1)
    .max(eventsPerRequestMax),
});

export const listEventsQuery = z.strictObject({
  customer: customerKeyField.optional(),
  feature: featureKeyField.optional(),
  cursor: cursorField.optional(),
  limit: pageLimitField,
});

export type IngestEventsBody = z.output<typeof ingestEventsBody>;
export type ListEventsQuery = z.output<typeof listEventsQuery>;

export const ingestResultResource = z
  .object({
    accepted: z.int(),
    duplicates: z.int(),
    rejected: z.int(),
    results: z.array(
      z.object({
        id: z.string(),
        status: z.enum(['accepted', 'duplicate', 'rejected']),
        asset: z.string().optional(),
        cost: z.string().optional(),
        transaction: z.string().optional(),
        code: z.string().optional(),
        detail: z.string().optional(),
      }),
    ),
  })
  .meta({ id: 'IngestResult' });

export const eventResource = z
  .object({
    id: z.string(),
    customer: z.string(),
    feature: z.string(),
    timestamp: timeText,
    properties: z.record(z.string(), z.unknown()),
    quantities: z.record(z.string(), z.string()),
    asset: z.string(),
    cost: z.string(),
    transaction: z.string().nullable(),
    price_book: z.string(),
    price_version: z.int(),
    received_at: timeText,
  })
  .meta({ id: 'Event' });

export const simulatePricingBody = z.strictObject({
  from: timestampField,
  to: timestampField,
  customer: customerKeyField.optional(),
  feature: featureKeyField.optional(),
  prices: publishPriceVersionBody.shape.prices.describe('The draft prices to replay the stored events through.'),
  plan: z
    .strictObject({
      id: planIdField,
      version: integerField(1, 1_000_000)
        .optional()
        .describe('A published version; default: the latest. Not with draft.'),
      draft: planVersionBody
        .optional()
        .describe(
          'An unpublished version, the body publishPlanVersion takes, checked as it checks it and stored nowhere. Not with version.',
        ),
    })
    .refine((plan) => plan.version === undefined || plan.draft === undefined, {
      path: ['draft'],
      message: 'names a version of its own: give version or draft, not both',
    })
    .optional()
    .describe(
      "Also replay the customer's recorded charges against this plan's allowances and rollover; needs customer.",
    ),
});

export type SimulatePricingBody = z.output<typeof simulatePricingBody>;

const planReplayFigures = {
  asset: z.string(),
  granted: z.string().describe("The plan's allowances."),
  usage: z.string().describe('What the recorded events charged.'),
  consumed: z.string().describe('The part of usage the allowances and rolled credit covered.'),
  overage: z.string().describe('Usage beyond allowance and rolled credit.'),
  rolled_over: z.string().describe('The part of the allowance the rollover rule carried into the next period.'),
  expired: z.string().describe('Allowance not rolled over, and rolled credit that expired unused.'),
};

const planReplayResource = z
  .object({
    id: z.string(),
    version: z.int().describe('The version replayed; for a draft, the number publishing it now would give it.'),
    draft: z.boolean().describe('Whether the replayed version is the unpublished draft of the body.'),
    periods: z.array(
      z.object({
        index: z.int(),
        starts_at: timeText,
        ends_at: timeText,
        assets: z.array(
          z.object({
            ...planReplayFigures,
            carried_in: z.string().describe('Rolled credit alive when the period starts.'),
            carried_out: z.string().describe('Rolled credit alive when the period ends.'),
          }),
        ),
      }),
    ),
    totals: z.array(
      z.object({
        ...planReplayFigures,
        carried_out: z.string().describe('Rolled credit alive at the end of the last period.'),
      }),
    ),
  })
  .meta({ id: 'PlanReplay' });

export const simulationResource = z
  .object({
    from: timeText,
    to: timeText,
    events: z.int(),
    lines: z.array(
      z.object({
        customer: z.string(),
        feature: z.string(),
        asset: z.string(),
        events: z.int(),
        charged: z.string(),
        simulated: z.string(),
        difference: z.string(),
      }),
    ),
    unpriced: z.int().describe('Events the draft cannot price (no price, no matching rate, no model price).'),
    plan: planReplayResource.optional().describe('Present when the body names a plan.'),
  })
  .meta({ id: 'Simulation' });

export const usageQuery = z.strictObject({
  from: timestampField,
  to: timestampField,
  granularity: z
    .enum(['hour', 'day', 'period'])
    .optional()
    .describe('Bucket size (default day); period: the whole range.'),
  feature: featureKeyField.optional(),
  group_by: propertyNameField
    .optional()
    .describe('An event property to break usage down by, such as model, user or session.'),
});

export type UsageQuery = z.output<typeof usageQuery>;

export const usageResource = z
  .object({
    customer: z.string(),
    from: timeText,
    to: timeText,
    granularity: z.string(),
    group_by: z.string().nullable(),
    buckets: z.array(
      z.object({
        start: timeText,
        feature: z.string(),
        group: z.string().nullable().describe('The value of group_by on these events (null when absent).'),
        events: z.int(),
        quantities: z.record(z.string(), z.string()),
        cost: z.record(z.string(), z.string()).describe('By asset.'),
      }),
    ),
  })
  .meta({ id: 'Usage' });

export const createWebhookEndpointBody = z.strictObject({
  url: z.string().max(2000),
  event_types: z
    .array(z.string().regex(/^[a-z_]+\.[a-z_.]+$/, 'must be an event type such as "grant.expired"'))
    .min(1)
    .max(50)
    .optional()
    .describe('Only these event types; absent: every type.'),
  description: z.string().max(500).optional(),
});
export type CreateWebhookEndpointBody = z.output<typeof createWebhookEndpointBody>;

export const notificationsQuery = z.strictObject({
  type: z.string().max(100).optional(),
  customer: customerKeyField.optional(),
  cursor: cursorField.optional(),
  limit: pageLimitField,
});
export type NotificationsQuery = z.output<typeof notificationsQuery>;

export const webhookEndpointResource = z
  .object({
    id: z.string(),
    url: z.string(),
    event_types: z.array(z.string()).nullable(),
    description: z.string().nullable(),
    disabled_at: timeText.nullable(),
    created_at: timeText,
    secret: z
      .string()
      .nullable()
      .optional()
      .describe(
        'Shown when the endpoint is created and when its secret is rotated; null in a replay of those replies (Idempotent-Replayed).',
      ),
    secret_shown_once: z
      .literal(true)
      .optional()
      .describe('Present, with `secret: null`, in a replay: the secret was shown once, in the first reply.'),
    previous_secret_valid_until: timeText
      .nullable()
      .optional()
      .describe(
        'After a rotation: until when the previous secret also signs; null when it could not be decrypted (another audit key) and was dropped.',
      ),
    deleted: z.boolean().optional(),
  })
  .meta({ id: 'WebhookEndpoint' });

export const webhookDeliveryResource = z
  .object({
    id: z.string(),
    endpoint: z.string(),
    event: z.string().describe("The notification id (or a test event's), sent as webhook-id on every attempt."),
    event_type: z.string(),
    status: z.enum(['pending', 'succeeded', 'failed']),
    attempts: z.array(
      z.object({
        attempt: z.int(),
        status_code: z.int().nullable(),
        error: z.string().nullable(),
        duration_ms: z.int(),
        at: timeText,
      }),
    ),
    next_attempt_at: timeText.nullable(),
    created_at: timeText,
    delivered_at: timeText.nullable(),
  })
  .meta({ id: 'WebhookDelivery' });

/** A lifecycle event in the notifications feed: the same payload a webhook delivery carries, by type. */
export const notificationResource = z.discriminatedUnion('type', lifecycleEventPayloads).meta({ id: 'Notification' });

export const featurePage = pageOf(featureResource, 'FeaturePage');
export const priceBookPage = pageOf(priceBookResource, 'PriceBookPage');
export const modelPricePage = pageOf(modelPriceResource, 'ModelPricePage');
export const eventPage = pageOf(eventResource, 'EventPage');
export const webhookEndpointPage = pageOf(webhookEndpointResource, 'WebhookEndpointPage');
export const webhookDeliveryPage = pageOf(webhookDeliveryResource, 'WebhookDeliveryPage');
export const notificationPage = pageOf(notificationResource, 'NotificationPage');
