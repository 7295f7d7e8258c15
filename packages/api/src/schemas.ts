/**
 * The shapes of every request (path, query, body) and every response of the /v1 API. Request
 * schemas are strict, so a field the server owns (`id`, `balance`, `status`) is refused rather than
 * silently ignored; response schemas document what the ledger service writes.
 */
import { grantCategories, orderKeys, transactionDirections, transactionKinds } from '@bursar/core';
import { z } from 'zod';
import {
  amountNonNegativeField,
  amountPositiveField,
  amountSignedField,
  assetCodeField,
  cursorField,
  customerKeyField,
  decimalNonNegativeField,
  environmentNameField,
  eventPropertiesField,
  featureKeyField,
  idField,
  integerField,
  metadataField,
  pageLimitField,
  reasonField,
  timestampField,
  uniqueArrayField,
} from './fields.ts';
import { holdTtlSecondsMax } from './limits.ts';
import { scopes } from './scopes.ts';

const grantStatuses = ['active', 'depleted', 'expired', 'voided', 'scheduled'] as const;
const holdStatuses = ['open', 'captured', 'released', 'expired'] as const;

// ---- Path parameters ----

export const idParams = z.strictObject({ id: idField });
export const customerParams = z.strictObject({ customer: customerKeyField });
export const walletParams = z.strictObject({ customer: customerKeyField, asset: assetCodeField });

// ---- Queries ----

export const pageQuery = z.strictObject({ cursor: cursorField.optional(), limit: pageLimitField });

export const balancesQuery = z.strictObject({ asset: assetCodeField.optional(), feature: featureKeyField.optional() });

export const listGrantsQuery = z.strictObject({
  customer: customerKeyField.optional(),
  asset: assetCodeField.optional(),
  status: z.enum(grantStatuses).optional(),
  cursor: cursorField.optional(),
  limit: pageLimitField,
});

export const listTransactionsQuery = z.strictObject({
  customer: customerKeyField.optional(),
  asset: assetCodeField.optional(),
  kind: z.enum(transactionKinds).optional(),
  hold: idField.optional(),
  grant: idField.optional(),
  created_after: timestampField.optional(),
  created_before: timestampField.optional(),
  cursor: cursorField.optional(),
  limit: pageLimitField,
});

export const listAuditEventsQuery = z.strictObject({
  action: z.string().min(1).max(100).optional(),
  target: z.string().min(1).max(200).optional(),
  actor: z.string().min(1).max(200).optional().describe('Who acted, as the log names them: `api_key:<id>`.'),
  customer: customerKeyField.optional().describe("Events about this customer's objects."),
  from: timestampField.optional().describe('Events at or after this instant.'),
  to: timestampField.optional().describe('Events before this instant.'),
  cursor: cursorField.optional(),
  limit: pageLimitField,
});

export const listCustomersQuery = z.strictObject({
  q: z
    .string()
    .min(1)
    .max(200)
    .optional()
    .describe('Customers whose id starts with it or whose name contains it, ignoring case.'),
  cursor: cursorField.optional(),
  limit: pageLimitField,
});

export const listHoldsQuery = z.strictObject({
  customer: customerKeyField.optional(),
  asset: assetCodeField.optional(),
  status: z.enum(holdStatuses).optional(),
  cursor: cursorField.optional(),
  limit: pageLimitField,
});

export const listWebhookDeliveriesQuery = z.strictObject({
  customer: customerKeyField.optional().describe('Deliveries of events about this customer.'),
  cursor: cursorField.optional(),
  limit: pageLimitField,
});

/** The query of a write that can be previewed: `dry_run=true` decides it and commits nothing. */
export const dryRunQuery = z.strictObject({
  dry_run: z
    .enum(['true', 'false'])
    .optional()
    .describe(
      '`true`: decide the request on the current wallets and answer 200 with the balances before and after and the body the call would answer; nothing is written.',
    ),
});

// ---- Bodies ----

/** The answer of an operation that answers 204 with no body. */
export const noContent = z.undefined();

/** Bodies with nothing to say; strict, so any field is refused. */
export const emptyBody = z.strictObject({});

export const createEnvironmentBody = z.strictObject({ name: environmentNameField });

export const createConsoleSessionBody = z.strictObject({
  api_key: z.string().min(1).max(512).describe('The API key to sign in with; the session acts with its scopes.'),
});

export const createApiKeyBody = z.strictObject({
  name: z.string().min(1).max(100),
  scopes: uniqueArrayField(z.enum(scopes), 1, scopes.length),
});

export const createAssetBody = z.strictObject({
  code: assetCodeField,
  scale: integerField(0, 12),
  name: z.string().min(1).max(100).optional(),
});

export const createCustomerBody = z.strictObject({
  id: customerKeyField,
  name: z.string().min(1).max(200).optional(),
  metadata: metadataField.optional(),
});

export const updateWalletPolicyBody = z
  .strictObject({
    overdraft_limit: amountNonNegativeField.optional(),
    consumption_order: uniqueArrayField(z.enum(orderKeys), 1, orderKeys.length).optional(),
    repay_debt_first: z.boolean().optional(),
    low_balance_threshold: amountNonNegativeField
      .nullable()
      .optional()
      .describe(
        'balance.low fires when available credit falls below it, balance.recovered when it climbs back; null: off.',
      ),
    reason: reasonField.optional(),
  })
  .refine(
    (body) =>
      body.overdraft_limit !== undefined ||
      body.consumption_order !== undefined ||
      body.repay_debt_first !== undefined ||
      body.low_balance_threshold !== undefined,
    {
      message: 'one of overdraft_limit, consumption_order, repay_debt_first or low_balance_threshold is required',
      path: ['overdraft_limit'],
    },
  );

const costBasisBody = z
  .strictObject({
    currency: assetCodeField.describe('The code of an asset of this environment (e.g. usd), created with createAsset.'),
    total: decimalNonNegativeField.optional(),
    unit_price: decimalNonNegativeField.optional(),
  })
  .refine((costBasis) => (costBasis.total === undefined) !== (costBasis.unit_price === undefined), {
    message: 'exactly one of total or unit_price is required',
  });

export const createGrantBody = z.strictObject({
  customer: customerKeyField,
  asset: assetCodeField,
  amount: amountPositiveField,
  category: z.enum(grantCategories),
  priority: integerField(0, 1_000_000).default(0),
  effective_at: timestampField.optional(),
  expires_at: timestampField.optional(),
  features: z.array(featureKeyField).min(1).max(100).optional(),
  cost_basis: costBasisBody.optional(),
  reason: reasonField.optional(),
  metadata: metadataField.optional(),
});

export const voidGrantBody = z.strictObject({ reason: reasonField });

/** The body of createDebit and of checkDebit, its dry run. */
export const debitBody = z.strictObject({
  customer: customerKeyField,
  asset: assetCodeField,
  amount: amountPositiveField,
  feature: featureKeyField.optional(),
  description: z.string().max(500).optional(),
  metadata: metadataField.optional(),
});

/** Estimated usage, read like an event's properties by the feature's meter (and its model for cost-plus). */
const quantitiesField = eventPropertiesField.describe(
  'Instead of amount: the feature priced now for this estimated usage, e.g. {"model": "gpt-4o", "output_tokens": 4096}.',
);

/** Either an amount in an asset, or a feature with estimated quantities that the price in force turns into one. */
function requireAmountOrQuantities(
  body: { asset?: string | undefined; amount?: string | undefined; feature?: string | undefined; quantities?: unknown },
  context: z.RefinementCtx,
): void {
  const missing = (field: string, message: string) => context.addIssue({ code: 'custom', path: [field], message });
  if (body.quantities === undefined) {
    if (body.asset === undefined) missing('asset', 'is required (or give feature and quantities)');
    if (body.amount === undefined) missing('amount', 'is required (or give feature and quantities)');
    return;
  }
  if (body.amount !== undefined) missing('amount', 'give amount or quantities, not both');
  if (body.feature === undefined) missing('feature', 'is required with quantities');
}

export const createHoldBody = z
  .strictObject({
    customer: customerKeyField,
    asset: assetCodeField.optional(),
    amount: amountPositiveField.optional(),
    feature: featureKeyField.optional(),
    quantities: quantitiesField.optional(),
    ttl_seconds: integerField(1, holdTtlSecondsMax).optional(),
    metadata: metadataField.optional(),
  })
  .superRefine(requireAmountOrQuantities);

/** The body of checkDebit: a debit's body, or a feature with estimated quantities. */
export const checkDebitBody = z
  .strictObject({
    customer: customerKeyField,
    asset: assetCodeField.optional(),
    amount: amountPositiveField.optional(),
    feature: featureKeyField.optional(),
    quantities: quantitiesField.optional(),
    description: z.string().max(500).optional(),
    metadata: metadataField.optional(),
  })
  .superRefine(requireAmountOrQuantities);

export const captureHoldBody = z
  .strictObject({
    amount: amountNonNegativeField.optional().describe('Absent (and no event): capture the whole held amount.'),
    on_excess: z.enum(['draw', 'refuse']).optional(),
    event: z
      .strictObject({
        id: z
          .string()
          .regex(/^[\x21-\x7e]{1,200}$/, 'must be 1–200 printable characters: the event id deduplicates it'),
        timestamp: timestampField.optional(),
        properties: eventPropertiesField.optional(),
      })
      .optional()
      .describe("The real usage, priced by the hold's feature in its asset and recorded as a usage event."),
  })
  .refine((body) => body.amount === undefined || body.event === undefined, {
    message: 'give amount or event, not both',
    path: ['event'],
  });

export const extendHoldBody = z
  .strictObject({
    amount: amountPositiveField.optional().describe("Added to the hold's amount."),
    ttl_seconds: integerField(1, holdTtlSecondsMax).optional().describe('The new expiry is now + ttl_seconds.'),
  })
  .refine((body) => body.amount !== undefined || body.ttl_seconds !== undefined, {
    message: 'amount or ttl_seconds is required',
    path: ['amount'],
  });

export const reverseTransactionBody = z.strictObject({
  amount: amountPositiveField.optional().describe('Absent: reverse whatever is left to reverse.'),
  reason: reasonField,
});

export const createAdjustmentBody = z.strictObject({
  customer: customerKeyField,
  asset: assetCodeField,
  amount: amountSignedField,
  reason: reasonField,
  expires_at: timestampField.optional(),
  category: z.enum(grantCategories).default('adjustment'),
});

export type IdParams = z.output<typeof idParams>;
export type CustomerParams = z.output<typeof customerParams>;
export type WalletParams = z.output<typeof walletParams>;
export type PageQuery = z.output<typeof pageQuery>;
export type BalancesQuery = z.output<typeof balancesQuery>;
export type ListGrantsQuery = z.output<typeof listGrantsQuery>;
export type ListTransactionsQuery = z.output<typeof listTransactionsQuery>;
export type ListAuditEventsQuery = z.output<typeof listAuditEventsQuery>;
export type ListCustomersQuery = z.output<typeof listCustomersQuery>;
export type ListHoldsQuery = z.output<typeof listHoldsQuery>;
export type ListWebhookDeliveriesQuery = z.output<typeof listWebhookDeliveriesQuery>;
export type CreateEnvironmentBody = z.output<typeof createEnvironmentBody>;
export type CreateApiKeyBody = z.output<typeof createApiKeyBody>;
export type CreateAssetBody = z.output<typeof createAssetBody>;
export type CreateCustomerBody = z.output<typeof createCustomerBody>;
export type UpdateWalletPolicyBody = z.output<typeof updateWalletPolicyBody>;
export type CreateGrantBody = z.output<typeof createGrantBody>;
export type VoidGrantBody = z.output<typeof voidGrantBody>;
export type DebitBody = z.output<typeof debitBody>;
export type CheckDebitBody = z.output<typeof checkDebitBody>;
export type CreateHoldBody = z.output<typeof createHoldBody>;
export type CaptureHoldBody = z.output<typeof captureHoldBody>;
export type ExtendHoldBody = z.output<typeof extendHoldBody>;
export type ReverseTransactionBody = z.output<typeof reverseTransactionBody>;
export type CreateAdjustmentBody = z.output<typeof createAdjustmentBody>;

// ---- Responses ----
// Amounts are decimal strings in the asset's unit; times are RFC 3339 strings; absent values are null.

const amountText = z.string().describe('A decimal string in the asset unit, e.g. "12.5"');
const timeText = z.string().meta({ format: 'date-time' });
const metadataText = z.record(z.string(), z.string()).nullable();

export const environmentResource = z
  .object({ id: z.string(), name: z.string(), created_at: timeText })
  .meta({ id: 'Environment' });

export const apiKeyResource = z
  .object({
    id: z.string(),
    name: z.string(),
    scopes: z.array(z.enum(scopes)),
    prefix: z.string().describe('The first characters of the key, enough to recognise it in a list.'),
    created_at: timeText,
    revoked_at: timeText.nullable(),
    key: z
      .string()
      .nullable()
      .optional()
      .describe(
        'The secret key: present only in the reply that created it; null in a replay of that reply (Idempotent-Replayed), which never shows the secret again.',
      ),
    secret_shown_once: z
      .literal(true)
      .optional()
      .describe('Present, with `key: null`, in a replay: the secret was shown once, in the first reply.'),
  })
  .meta({ id: 'ApiKey' });

/** The calling key as it sees itself: its scopes and environment, never its secret, so a client learns what it may call. */
export const currentApiKeyResource = apiKeyResource
  .omit({ key: true, secret_shown_once: true })
  .extend({ environment: environmentResource.pick({ id: true, name: true }) })
  .meta({ id: 'CurrentApiKey' });

export const assetResource = z
  .object({
    code: z.string(),
    scale: z.int(),
    name: z.string().nullable(),
    created_at: timeText,
  })
  .meta({ id: 'Asset' });

export const customerResource = z
  .object({
    id: z.string(),
    name: z.string().nullable(),
    metadata: metadataText,
    created_at: timeText,
  })
  .meta({ id: 'Customer' });

export const balanceResource = z
  .object({
    asset: z.string(),
    balance: amountText,
    held: amountText,
    available: amountText,
    debt: amountText,
    overdraft_limit: amountText,
    scheduled: amountText.describe('Granted but not yet effective.'),
    next_expiry: z.object({ at: timeText, amount: amountText }).nullable(),
    consumption_order: z.array(z.enum(orderKeys)),
    repay_debt_first: z.boolean(),
    low_balance_threshold: amountText.nullable(),
  })
  .meta({ id: 'Balance' });

export const balancesResource = z
  .object({ customer: z.string(), balances: z.array(balanceResource) })
  .meta({ id: 'Balances' });

export const grantResource = z
  .object({
    id: z.string(),
    customer: z.string(),
    asset: z.string(),
    amount: amountText,
    remaining: amountText,
    reserved: amountText.describe('The part of remaining reserved by open holds.'),
    category: z.enum(grantCategories),
    priority: z.int(),
    effective_at: timeText,
    expires_at: timeText.nullable(),
    features: z.array(z.string()).nullable(),
    cost_basis: z.object({ currency: z.string(), total: z.string(), unit_price: z.string() }).nullable(),
    reason: z.string().nullable(),
    metadata: metadataText,
    status: z.enum(grantStatuses),
    voided_at: timeText.nullable(),
    created_at: timeText,
  })
  .meta({ id: 'Grant' });

const drawResource = z.object({
  grant: z.string().nullable().describe('null: drawn on the overdraft'),
  amount: amountText,
});

export const transactionResource = z
  .object({
    id: z.string(),
    kind: z.enum(transactionKinds),
    customer: z.string(),
    asset: z.string(),
    amount: amountText.describe('Never signed: what was granted, drawn, held, captured, expired or reversed.'),
    direction: z
      .enum(transactionDirections)
      .describe(
        "What the transaction did to the wallet's balance: credit added to it, debit took from it, none left it.",
      ),
    feature: z.string().nullable(),
    hold: z.string().nullable(),
    grant: z.string().nullable(),
    reverses: z.string().nullable(),
    reason: z.string().nullable(),
    metadata: metadataText,
    entries: z.array(
      z.object({ account: z.string(), grant: z.string().nullable(), amount: amountText.describe('Signed.') }),
    ),
    draws: z.array(drawResource),
    created_at: timeText,
  })
  .meta({ id: 'Transaction' });

/** What createDebit, reverseTransaction and createAdjustment answer: the transaction and the wallet after it. */
export const transactionResultResource = z
  .object({ transaction: transactionResource, balance: balanceResource })
  .meta({ id: 'TransactionResult' });

/** What createAdjustment answers: a positive adjustment also creates a grant. */
export const adjustmentResultResource = transactionResultResource
  .extend({ grant: grantResource.nullable() })
  .meta({ id: 'AdjustmentResult' });

/** What createGrant answers: the grant, the transaction that issued it and the debt it repaid first. */
export const grantCreatedResource = grantResource
  .extend({ transaction_id: z.string(), debt_repaid: amountText })
  .meta({ id: 'GrantCreated' });

/** What voidGrant answers: the grant after the void and the void transaction. */
export const grantVoidedResource = grantResource
  .extend({ transaction: transactionResource })
  .meta({ id: 'GrantVoided' });

/** What updateWalletPolicy answers: the wallet's balance under its new policy. */
export const walletPolicyResource = balanceResource.extend({ customer: z.string() }).meta({ id: 'WalletPolicy' });

export const debitCheckResource = z
  .object({
    allowed: z.boolean(),
    asset: z.string(),
    amount: amountText.describe(
      'What the debit would cost: the amount given, or the feature priced for the quantities.',
    ),
    available: amountText,
    shortfall: amountText,
    draws: z.array(drawResource),
    explanation: z.array(
      z.object({ grant: z.string(), rank: z.int().nullable(), skipped_because: z.string().nullable() }),
    ),
    consumption_order: z.array(z.enum(orderKeys)),
    balance: balanceResource,
  })
  .meta({ id: 'DebitCheck' });

export const holdResource = z
  .object({
    id: z.string(),
    customer: z.string(),
    asset: z.string(),
    amount: amountText,
    captured: amountText,
    status: z.enum(holdStatuses),
    feature: z.string().nullable(),
    reservations: z.array(z.object({ grant: z.string().nullable(), amount: amountText })),
    expires_at: timeText,
    metadata: metadataText,
    created_at: timeText,
    ended_at: timeText.nullable(),
  })
  .meta({ id: 'Hold' });

/** What createHold, captureHold, releaseHold and extendHold answer. */
export const holdResultResource = z
  .object({
    hold: holdResource,
    transaction: transactionResource.nullable(),
    balance: balanceResource,
  })
  .meta({ id: 'HoldResult' });

const auditEventResource = z
  .object({
    id: z.string(),
    seq: z.int(),
    action: z.string(),
    target: z.string(),
    actor: z.string(),
    reason: z.string().nullable(),
    before: z.unknown(),
    after: z.unknown(),
    request_id: z.string().nullable(),
    created_at: timeText,
    hash: z.string(),
    prev_hash: z.string().nullable(),
  })
  .meta({ id: 'AuditEvent' });

export const auditVerificationResource = z
  .object({
    valid: z.boolean(),
    events_checked: z.int(),
    first_invalid_seq: z.int().nullable(),
    head_hash: z.string().nullable(),
    problem: z.string().nullable().describe('Why the chain breaks at first_invalid_seq.'),
  })
  .meta({ id: 'AuditVerification' });

/** A page of a list, named `name` in the OpenAPI document: `next_cursor` is null on the last page. */
export function pageOf<T extends z.ZodType>(item: T, name: string) {
  return z.object({ data: z.array(item), next_cursor: z.string().nullable() }).meta({ id: name });
}

export const environmentPage = pageOf(environmentResource, 'EnvironmentPage');

/** What createEnvironment answers: the environment and its first admin key, shown once. */
export const environmentCreatedResource = environmentResource
  .extend({ admin_key: apiKeyResource })
  .meta({ id: 'EnvironmentCreated' });
export const apiKeyPage = pageOf(apiKeyResource, 'ApiKeyPage');
export const assetPage = pageOf(assetResource, 'AssetPage');
export const customerPage = pageOf(customerResource, 'CustomerPage');
export const grantPage = pageOf(grantResource, 'GrantPage');
export const transactionPage = pageOf(transactionResource, 'TransactionPage');
export const auditEventPage = pageOf(auditEventResource, 'AuditEventPage');
export const holdPage = pageOf(holdResource, 'HoldPage');

/** A console session: who it acts as, until when, and the token its writes echo in `x-csrf-token`. */
export const consoleSessionResource = z
  .object({
    environment: environmentResource.pick({ id: true, name: true }),
    api_key: apiKeyResource.pick({ id: true, name: true, scopes: true }),
    expires_at: timeText,
    csrf_token: z.string().describe('Send it as the `x-csrf-token` header on every request other than GET and HEAD.'),
  })
  .meta({ id: 'ConsoleSession' });

/** The background jobs of the server process that answered, and the scheduled work due. */
export const jobsResource = z
  .object({
    data: z.array(
      z.object({
        name: z.string(),
        interval_ms: z.int(),
        last_started_at: timeText.nullable(),
        last_finished_at: timeText.nullable(),
        last_error: z.string().nullable(),
        next_run_at: timeText.nullable(),
        failures: z.array(
          z.object({
            target: z.string(),
            attempts: z.int(),
            at: timeText,
            error: z.string(),
            retry_at: timeText,
          }),
        ),
      }),
    ),
    scheduled: z.array(z.object({ kind: z.string(), target: z.string(), due_at: timeText })),
  })
  .meta({ id: 'Jobs' });

/** A wallet's balance in a preview: which wallet, then its balance. */
const previewBalanceResource = balanceResource.extend({ customer: z.string() }).meta({ id: 'PreviewBalance' });

/** What `?dry_run=true` answers: the wallets before and after, and the body the call would answer; nothing is written. */
export function dryRunOf<T extends z.ZodType>(result: T, name: string) {
  return z
    .object({
      dry_run: z.literal(true),
      balances_before: z.array(previewBalanceResource),
      balances_after: z.array(previewBalanceResource),
      result,
    })
    .meta({ id: name });
}
