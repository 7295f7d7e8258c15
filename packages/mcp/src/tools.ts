/**
 * The MCP tools: each is one operation of @bursar/api under an agent's name, with what an agent
 * needs to know to call it well. Runtime tools serve a running app; set-up tools build the catalog.
 */
import type { Operation, OperationId } from '@bursar/api';
import { operations } from '@bursar/api';
import type { Preview } from './previews.ts';
import { previews } from './previews.ts';

export interface ToolDefinition {
  readonly name: string;
  readonly title: string;
  readonly operation: Operation;
  /** Writes change the ledger or the catalog; everything else (dry runs included) only reads. */
  readonly isWrite: boolean;
  readonly description: string;
  /** Writes only: what `preview: true` reads. */
  readonly preview?: Preview;
}

const writeAdvice =
  'Pass preview: true first to see exactly what would change (nothing changes). idempotency_key is required: a fresh key (e.g. a UUID) per distinct change; when retrying this change after an error or a timeout, send the SAME key again so it is applied once.';

/** An operation changes something when it is a POST that needs more than the read scope (checks and quotes need only read). */
function changesSomething(operation: Operation): boolean {
  return operation.method === 'POST' && operation.scope !== 'read';
}

function tool(name: string, operationId: OperationId, title: string, about: string, preview?: Preview): ToolDefinition {
  const operation: Operation = operations[operationId];
  const isWrite = changesSomething(operation);
  if (isWrite !== (preview !== undefined)) throw new TypeError(`${name}: a write tool needs a preview, a read none`);
  const description = `${about} (Bursar ${operationId}, needs a ${operation.scope} key.)${isWrite ? ` ${writeAdvice}` : ''}`;
  return { name, title, operation, isWrite, description, ...(preview === undefined ? {} : { preview }) };
}

/** Amounts everywhere are decimal strings in the asset's unit, such as "12.5", never floats. */
export const runtimeTools: readonly ToolDefinition[] = [
  tool(
    'check',
    'checkDebit',
    'Check a debit',
    'Dry-run a debit of a customer: whether it is allowed, what it would cost (an amount, or a feature priced for quantities), which grants it would draw and the shortfall. Changes nothing.',
  ),
  tool(
    'check_entitlement',
    'checkEntitlement',
    'Check an entitlement',
    'May the customer use this feature (this much) under their plan and credit? Answers with the reason. Changes nothing.',
  ),
  tool(
    'preview_subscription_change',
    'previewSubscriptionChange',
    'Preview a plan change',
    "What an upgrade or downgrade (action change_plan, plan, timing) would do to the customer's credit: the new allowance, what happens to the current plan's credit (kept, rolled over, voided), the balance when it takes effect and a negative_balance warning. Changes nothing; changeSubscription accepts its preview_token and refuses it once the subscription or a wallet moved.",
  ),
  tool(
    'hold',
    'createHold',
    'Hold credit',
    'Reserve credit for work whose cost is not known yet (a model call): an amount, or a feature with estimated quantities. The hold expires after ttl_seconds unless extended, captured or released. Answers the hold (keep its id) and the balance.',
    previews.holdPreview,
  ),
  tool(
    'extend_hold',
    'extendHold',
    'Extend a hold',
    'Add amount to an open hold and/or move its expiry to ttl_seconds from now, while the work runs past its estimate.',
    previews.extendPreview,
  ),
  tool(
    'capture_hold',
    'captureHold',
    'Capture a hold',
    'Spend what the work really cost from a hold (an amount, or the usage event priced by the hold feature; absent: the whole hold) and release the rest. Ends the hold.',
    previews.capturePreview,
  ),
  tool(
    'release_hold',
    'releaseHold',
    'Release a hold',
    'Give a hold back in full (the work failed or never started). Ends the hold; nothing is spent.',
    previews.releasePreview,
  ),
  tool(
    'debit',
    'createDebit',
    'Debit credit',
    'Spend credit now, atomically, in the wallet consumption order; refused with insufficient_balance (available, requested) when the customer cannot pay.',
    previews.debitPreview,
  ),
  tool(
    'get_balance',
    'getBalances',
    'Get balances',
    "A customer's live balances: balance, held, available, debt, next expiry, per asset.",
  ),
  tool('get_hold', 'getHold', 'Get a hold', 'A hold: its amount, what was captured, its status and expiry.'),
  tool(
    'get_usage',
    'getUsage',
    'Get usage',
    "A customer's usage and cost by feature, time bucket (hour, day or the whole period) and dimension.",
  ),
  tool(
    'quote_cost',
    'quoteCost',
    'Quote a cost',
    'Price a usage event (a feature and its properties, such as token counts) without recording it. Changes nothing.',
  ),
  tool(
    'list_transactions',
    'listTransactions',
    'List transactions',
    'Ledger transactions, newest first, filtered by customer, asset, kind, hold or grant; follow next_cursor for more.',
  ),
];

export const setupTools: readonly ToolDefinition[] = [
  tool(
    'create_asset',
    'createAsset',
    'Create an asset',
    'Create an asset (a currency of credit, such as "credits" or "usd") with its scale: the decimal places an amount may have.',
    previews.assetPreview,
  ),
  tool(
    'create_customer',
    'createCustomer',
    'Create a customer',
    'Create a customer under your own id for them (an org or user id of your app).',
    previews.customerPreview,
  ),
  tool(
    'create_feature',
    'createFeature',
    'Create a feature',
    'Define a feature (such as "chat") and how its usage events become quantities (counts, or properties such as input_tokens).',
    previews.featurePreview,
  ),
  tool(
    'create_price_book',
    'createPriceBook',
    'Create a price book',
    "Create a price book; default: true makes it price every customer's events.",
    previews.priceBookPreview,
  ),
  tool(
    'publish_price_version',
    'publishPriceVersion',
    'Publish a price version',
    "Publish a price book version: each feature's price options, effective now or later (never in the past).",
    previews.priceVersionPreview,
  ),
  tool(
    'set_model_price',
    'upsertModelPrice',
    'Set a model price',
    "Set a model's provider token prices per million (input, output, cached input, cache write, reasoning) from a date; holds around model calls estimate from them.",
    previews.modelPricePreview,
  ),
  tool(
    'create_plan',
    'createPlan',
    'Create a plan',
    'Create a plan with its first version: the period, the credit allowances issued each period, entitlements, trial.',
    previews.planPreview,
  ),
  tool(
    'publish_plan_version',
    'publishPlanVersion',
    'Publish a plan version',
    'Publish a new version of a plan; existing subscriptions keep theirs.',
    previews.planVersionPreview,
  ),
  tool(
    'create_subscription',
    'createSubscription',
    'Subscribe a customer',
    'Subscribe a customer to a plan version (default the latest); its allowances are granted for each period.',
    previews.subscriptionPreview,
  ),
  tool(
    'create_grant',
    'createGrant',
    'Grant credit',
    'Grant credit to a customer: an amount of an asset, with a category (paid, promotional, …), optional start, expiry and features it may pay for.',
    previews.grantPreview,
  ),
  tool(
    'create_webhook_endpoint',
    'createWebhookEndpoint',
    'Create a webhook endpoint',
    'Register an HTTPS endpoint for lifecycle events (all, or the event_types given). The answer shows its signing secret once.',
    previews.webhookEndpointPreview,
  ),
];

export const toolCatalogue: readonly ToolDefinition[] = [...runtimeTools, ...setupTools];
