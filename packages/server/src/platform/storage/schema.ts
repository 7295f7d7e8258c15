/**
 * The schema as the migration history leaves it: every table's columns and types, from which the
 * bulk insert/update statements and the query builder's row types are derived. A test checks it
 * against a migrated database; changing it means adding a migration. Every row of a customer
 * carries the environment and customer keys so a distributed PostgreSQL can shard by them.
 */

export type ColumnType = 'text' | 'bigint';

export interface TableSpec {
  readonly columns: Readonly<Record<string, ColumnType>>;
  /** Columns that may be NULL; all others are NOT NULL. */
  readonly nullable: readonly string[];
  readonly primaryKey: readonly string[];
  readonly unique?: readonly (readonly string[])[];
  /** Secondary indexes; a partial one (`where`) costs nothing to rows it excludes. */
  readonly indexes?: readonly (readonly string[] | { readonly columns: readonly string[]; readonly where: string })[];
  /** Ledger tables reject UPDATE and DELETE by trigger. */
  readonly appendOnly?: boolean;
}

export const tables = {
  environments: {
    columns: { id: 'text', name: 'text', created_at: 'bigint', audit_seq: 'bigint', audit_hash: 'text' },
    nullable: [],
    primaryKey: ['id'],
    unique: [['name']],
  },
  api_keys: {
    columns: {
      id: 'text',
      environment_id: 'text',
      name: 'text',
      prefix: 'text',
      secret_hash: 'text',
      scopes: 'text',
      created_at: 'bigint',
      revoked_at: 'bigint',
    },
    nullable: ['revoked_at'],
    primaryKey: ['id'],
    unique: [['secret_hash']],
    indexes: [['environment_id', 'created_at']],
  },
  /**
   * A console sign-in: the cookie's token is stored as its SHA-256 (looked up alone, by the cookie),
   * the CSRF token as it is (it is worthless without the cookie, and getConsoleSession shows it again).
   */
  console_sessions: {
    columns: {
      id: 'text',
      environment_id: 'text',
      api_key_id: 'text',
      token_hash: 'text',
      csrf_token: 'text',
      created_at: 'bigint',
      expires_at: 'bigint',
      ended_at: 'bigint',
    },
    nullable: ['ended_at'],
    primaryKey: ['id'],
    unique: [['token_hash']],
    indexes: [['environment_id', 'api_key_id']],
  },
  assets: {
    columns: { environment_id: 'text', code: 'text', scale: 'bigint', name: 'text', created_at: 'bigint' },
    nullable: [],
    primaryKey: ['environment_id', 'code'],
  },
  customers: {
    columns: { environment_id: 'text', id: 'text', name: 'text', metadata: 'text', created_at: 'bigint' },
    nullable: ['name', 'metadata'],
    primaryKey: ['environment_id', 'id'],
  },
  wallets: {
    columns: {
      environment_id: 'text',
      customer_id: 'text',
      asset: 'text',
      overdraft_limit: 'bigint',
      consumption_order: 'text',
      repay_debt_first: 'bigint',
      low_balance_threshold: 'bigint',
      debt: 'bigint',
      debt_reserved: 'bigint',
      /** Booked balance: the sum of the wallet's grant-lot and debt entries. */
      balance: 'bigint',
      version: 'bigint',
      created_at: 'bigint',
      /** The auto top-up rule (JSON, amounts as unit strings) and its state; null: no rule. */
      topup_rule: 'text',
      topup_pending: 'text',
      topup_month: 'text',
      topup_month_amount: 'bigint',
      topup_failures: 'bigint',
    },
    nullable: [
      'low_balance_threshold',
      'topup_rule',
      'topup_pending',
      'topup_month',
      'topup_month_amount',
      'topup_failures',
    ],
    primaryKey: ['environment_id', 'customer_id', 'asset'],
  },
  grants: {
    columns: {
      environment_id: 'text',
      customer_id: 'text',
      asset: 'text',
      id: 'text',
      amount: 'bigint',
      remaining: 'bigint',
      reserved: 'bigint',
      category: 'text',
      priority: 'bigint',
      effective_at: 'bigint',
      expires_at: 'bigint',
      features: 'text',
      cost_currency: 'text',
      cost_total: 'text',
      reason: 'text',
      metadata: 'text',
      created_at: 'bigint',
      voided_at: 'bigint',
      /** Plan allowance lots: JSON `{ amount_max, expires_at }` of what rolls over at expiry; null once rolled. */
      rollover: 'text',
    },
    nullable: ['expires_at', 'features', 'cost_currency', 'cost_total', 'reason', 'metadata', 'voided_at', 'rollover'],
    primaryKey: ['environment_id', 'customer_id', 'id'],
    // Not on `remaining`: every debit changes it, and an index on it would be rewritten each time.
    indexes: [['environment_id', 'customer_id', 'asset'], ['expires_at'], ['environment_id', 'id']],
  },
  holds: {
    columns: {
      environment_id: 'text',
      customer_id: 'text',
      asset: 'text',
      id: 'text',
      amount: 'bigint',
      captured: 'bigint',
      status: 'text',
      feature: 'text',
      expires_at: 'bigint',
      metadata: 'text',
      created_at: 'bigint',
      ended_at: 'bigint',
    },
    nullable: ['feature', 'metadata', 'ended_at'],
    primaryKey: ['environment_id', 'customer_id', 'id'],
    indexes: [
      ['environment_id', 'customer_id', 'asset', 'status'],
      ['status', 'expires_at'],
    ],
  },
  hold_reservations: {
    columns: {
      environment_id: 'text',
      customer_id: 'text',
      hold_id: 'text',
      position: 'bigint',
      grant_id: 'text',
      amount: 'bigint',
    },
    nullable: ['grant_id'],
    primaryKey: ['environment_id', 'customer_id', 'hold_id', 'position'],
    appendOnly: true,
  },
  transactions: {
    columns: {
      environment_id: 'text',
      customer_id: 'text',
      asset: 'text',
      id: 'text',
      kind: 'text',
      amount: 'bigint',
      feature: 'text',
      hold_id: 'text',
      grant_id: 'text',
      reverses_id: 'text',
      reason: 'text',
      metadata: 'text',
      request_id: 'text',
      created_at: 'bigint',
    },
    nullable: ['feature', 'hold_id', 'grant_id', 'reverses_id', 'reason', 'metadata', 'request_id'],
    primaryKey: ['environment_id', 'customer_id', 'id'],
    // Partial: a debit has no reversed transaction and no hold, and enters neither index (migration 8).
    indexes: [
      { columns: ['environment_id', 'reverses_id'], where: '"reverses_id" IS NOT NULL' },
      { columns: ['environment_id', 'hold_id'], where: '"hold_id" IS NOT NULL' },
      ['environment_id', 'id'],
    ],
    appendOnly: true,
  },
  entries: {
    columns: {
      environment_id: 'text',
      transaction_id: 'text',
      position: 'bigint',
      customer_id: 'text',
      asset: 'text',
      account: 'text',
      grant_id: 'text',
      amount: 'bigint',
    },
    nullable: ['grant_id'],
    primaryKey: ['environment_id', 'customer_id', 'transaction_id', 'position'],
    // No index on grant_id: debits would write to it at random places; see listTransactions.
    appendOnly: true,
  },
  idempotency_keys: {
    columns: {
      environment_id: 'text',
      key: 'text',
      fingerprint: 'text',
      status: 'bigint',
      body: 'text',
      problem: 'bigint',
      created_at: 'bigint',
    },
    nullable: [],
    primaryKey: ['environment_id', 'key'],
    indexes: [['created_at']],
  },
  audit_events: {
    columns: {
      environment_id: 'text',
      seq: 'bigint',
      id: 'text',
      action: 'text',
      target: 'text',
      actor: 'text',
      reason: 'text',
      before: 'text',
      after: 'text',
      request_id: 'text',
      created_at: 'bigint',
      prev_hash: 'text',
      hash: 'text',
      /** `hmac-sha256` (keyed with the audit key); NULL on rows written before the chain was keyed. */
      hash_kind: 'text',
    },
    nullable: ['reason', 'before', 'after', 'request_id', 'hash_kind'],
    primaryKey: ['environment_id', 'seq'],
    appendOnly: true,
  },
  outbox: {
    columns: {
      id: 'text',
      environment_id: 'text',
      type: 'text',
      customer_id: 'text',
      asset: 'text',
      data: 'text',
      created_at: 'bigint',
      delivered_at: 'bigint',
    },
    nullable: ['delivered_at'],
    primaryKey: ['environment_id', 'customer_id', 'id'],
    indexes: [
      ['delivered_at', 'id'],
      ['environment_id', 'id'],
    ],
  },
  features: {
    columns: { environment_id: 'text', key: 'text', name: 'text', meter: 'text', created_at: 'bigint' },
    nullable: ['name'],
    primaryKey: ['environment_id', 'key'],
  },
  price_books: {
    columns: { environment_id: 'text', key: 'text', name: 'text', is_default: 'bigint', created_at: 'bigint' },
    nullable: ['name'],
    primaryKey: ['environment_id', 'key'],
  },
  price_versions: {
    columns: {
      environment_id: 'text',
      price_book: 'text',
      version: 'bigint',
      effective_from: 'bigint',
      definition: 'text',
      created_at: 'bigint',
    },
    nullable: [],
    primaryKey: ['environment_id', 'price_book', 'version'],
    appendOnly: true,
  },
  model_prices: {
    columns: {
      environment_id: 'text',
      model: 'text',
      effective_from: 'bigint',
      input_per_million: 'text',
      output_per_million: 'text',
      cached_input_per_million: 'text',
      cache_write_per_million: 'text',
      batch_discount: 'text',
      provider: 'text',
      created_at: 'bigint',
    },
    nullable: ['provider'],
    primaryKey: ['environment_id', 'model', 'effective_from'],
    appendOnly: true,
  },
  events: {
    columns: {
      environment_id: 'text',
      id: 'text',
      customer_id: 'text',
      feature: 'text',
      occurred_at: 'bigint',
      properties: 'text',
      quantities: 'text',
      asset: 'text',
      cost: 'bigint',
      transaction_id: 'text',
      price_book: 'text',
      price_version: 'bigint',
      received_at: 'bigint',
    },
    nullable: [],
    primaryKey: ['environment_id', 'customer_id', 'id'],
    indexes: [['environment_id', 'customer_id', 'occurred_at']],
    appendOnly: true,
  },
  /** Beside each usage event priced through the model catalog: its cost at the provider's price (exact USD). */
  event_costs: {
    columns: {
      environment_id: 'text',
      event_id: 'text',
      customer_id: 'text',
      feature: 'text',
      model: 'text',
      occurred_at: 'bigint',
      provider_cost: 'text',
      asset: 'text',
      charged: 'bigint',
      transaction_id: 'text',
    },
    nullable: [],
    primaryKey: ['environment_id', 'customer_id', 'event_id'],
    indexes: [['environment_id', 'occurred_at']],
  },
  /** A provider's own cost export, per UTC day and model (exact USD); a later import of the same day replaces it. */
  provider_costs: {
    columns: {
      environment_id: 'text',
      provider: 'text',
      day: 'text',
      model: 'text',
      cost: 'text',
      imported_at: 'bigint',
    },
    nullable: [],
    primaryKey: ['environment_id', 'provider', 'day', 'model'],
  },
  finance_settings: {
    columns: {
      environment_id: 'text',
      /** Margin percentage below which `margin.low` fires; null: never. */
      margin_low_threshold: 'text',
      margin_window_days: 'bigint',
      margin_currency: 'text',
      updated_at: 'bigint',
    },
    nullable: ['margin_low_threshold'],
    primaryKey: ['environment_id'],
  },
  /** A customer's recent revenue and provider cost by UTC day (JSON), and whether its margin is low. */
  margin_windows: {
    columns: { environment_id: 'text', customer_id: 'text', days: 'text', low: 'bigint' },
    nullable: [],
    primaryKey: ['environment_id', 'customer_id'],
  },
  usage_totals: {
    columns: {
      environment_id: 'text',
      customer_id: 'text',
      feature: 'text',
      quantity: 'text',
      /** The calendar month (UTC) of the events counted, `YYYY-MM`. */
      period: 'text',
      /** Exact decimal text: quantities may be fractional. */
      total: 'text',
    },
    nullable: [],
    primaryKey: ['environment_id', 'customer_id', 'feature', 'quantity', 'period'],
  },
  usage_rollups: {
    columns: {
      environment_id: 'text',
      customer_id: 'text',
      feature: 'text',
      /** The hour (UTC, epoch milliseconds) the events fell in. */
      hour: 'bigint',
      asset: 'text',
      events: 'bigint',
      cost: 'bigint',
      /** Exact quantity totals, `{ "name": "decimal" }`. */
      quantities: 'text',
    },
    nullable: [],
    primaryKey: ['environment_id', 'customer_id', 'feature', 'hour', 'asset'],
  },
  webhook_endpoints: {
    columns: {
      environment_id: 'text',
      id: 'text',
      url: 'text',
      /** JSON array of event types, or null for every type. */
      event_types: 'text',
      description: 'text',
      secret: 'text',
      /** The secret before the last rotation, still signing until `previous_secret_until`. */
      previous_secret: 'text',
      previous_secret_until: 'bigint',
      created_at: 'bigint',
      disabled_at: 'bigint',
      deleted_at: 'bigint',
    },
    nullable: ['event_types', 'description', 'previous_secret', 'previous_secret_until', 'disabled_at', 'deleted_at'],
    primaryKey: ['environment_id', 'id'],
  },
  webhook_deliveries: {
    columns: {
      environment_id: 'text',
      id: 'text',
      endpoint_id: 'text',
      /** The outbox event: its id is the `webhook-id`, the same on every attempt. */
      event_id: 'text',
      event_type: 'text',
      payload: 'text',
      status: 'text',
      attempts: 'bigint',
      next_attempt_at: 'bigint',
      last_status: 'bigint',
      last_error: 'text',
      created_at: 'bigint',
      delivered_at: 'bigint',
    },
    nullable: ['last_status', 'last_error', 'delivered_at'],
    primaryKey: ['environment_id', 'id'],
    indexes: [
      ['status', 'next_attempt_at'],
      ['environment_id', 'endpoint_id', 'id'],
    ],
  },
  webhook_attempts: {
    columns: {
      environment_id: 'text',
      delivery_id: 'text',
      attempt: 'bigint',
      status_code: 'bigint',
      error: 'text',
      duration_ms: 'bigint',
      at: 'bigint',
    },
    nullable: ['status_code', 'error'],
    primaryKey: ['environment_id', 'delivery_id', 'attempt'],
    appendOnly: true,
  },
  topups: {
    columns: {
      environment_id: 'text',
      id: 'text',
      customer_id: 'text',
      asset: 'text',
      amount: 'bigint',
      /** `requested` until settled once as `succeeded` or `failed`. */
      status: 'text',
      reason: 'text',
      provider_reference: 'text',
      cost_currency: 'text',
      cost_total: 'text',
      grant_id: 'text',
      /** Charges handed to the payment provider (a lease that expired is charged again, same id). */
      attempts: 'bigint',
      lease_until: 'bigint',
      created_at: 'bigint',
      settled_at: 'bigint',
    },
    nullable: ['reason', 'provider_reference', 'cost_currency', 'cost_total', 'grant_id', 'lease_until', 'settled_at'],
    primaryKey: ['environment_id', 'customer_id', 'id'],
    indexes: [
      ['environment_id', 'customer_id', 'asset', 'id'],
      { columns: ['lease_until'], where: "status = 'requested'" },
      ['provider_reference'],
    ],
  },
  /** A Bursar customer's Stripe customer (domains/payments). */
  stripe_customers: {
    columns: { environment_id: 'text', customer_id: 'text', stripe_customer_id: 'text', created_at: 'bigint' },
    nullable: [],
    primaryKey: ['environment_id', 'customer_id'],
  },
  /** A Checkout top-up: `pending_payment` until Stripe confirms (`paid`, with its grant), `expired` or `reversed`. */
  stripe_checkouts: {
    columns: {
      environment_id: 'text',
      /** Stripe's Checkout Session id, unique across environments by Stripe (the webhook finds it by this alone). */
      id: 'text',
      customer_id: 'text',
      asset: 'text',
      amount: 'bigint',
      price_currency: 'text',
      price_total: 'text',
      url: 'text',
      status: 'text',
      payment_intent: 'text',
      paid_currency: 'text',
      paid_total: 'text',
      grant_id: 'text',
      reversal_reason: 'text',
      reversal_voided: 'bigint',
      reversal_consumed: 'bigint',
      created_at: 'bigint',
      settled_at: 'bigint',
      reversed_at: 'bigint',
    },
    nullable: [
      'url',
      'payment_intent',
      'paid_currency',
      'paid_total',
      'grant_id',
      'reversal_reason',
      'reversal_voided',
      'reversal_consumed',
      'settled_at',
      'reversed_at',
    ],
    primaryKey: ['environment_id', 'customer_id', 'id'],
    indexes: [['id'], ['payment_intent']],
  },
  /** A wallet's debt invoiced to Stripe for one period, at most once (`pending` until Stripe has the item). */
  stripe_overage_invoices: {
    columns: {
      environment_id: 'text',
      customer_id: 'text',
      asset: 'text',
      /** YYYY-MM (UTC). */
      period: 'text',
      debt: 'bigint',
      currency: 'text',
      total: 'text',
      status: 'text',
      invoice_item: 'text',
      grant_id: 'text',
      created_at: 'bigint',
      invoiced_at: 'bigint',
    },
    nullable: ['invoice_item', 'grant_id', 'invoiced_at'],
    primaryKey: ['environment_id', 'customer_id', 'asset', 'period'],
  },
  /**
   * A customer's portal session (domains/portal): its bearer token and one-time code as SHA-256
   * hashes, each looked up with the environment and customer the token itself carries.
   */
  portal_sessions: {
    columns: {
      environment_id: 'text',
      customer_id: 'text',
      id: 'text',
      token_hash: 'text',
      code_hash: 'text',
      /** When the one-time code was exchanged for the cookie; null: not yet (it works once). */
      code_used_at: 'bigint',
      /** The browser cookie's own token, minted when the code is exchanged (never the bearer token). */
      cookie_token_hash: 'text',
      return_url: 'text',
      /** The key that minted it. */
      api_key_id: 'text',
      expires_at: 'bigint',
      created_at: 'bigint',
    },
    nullable: ['code_used_at', 'cookie_token_hash'],
    primaryKey: ['environment_id', 'customer_id', 'id'],
    unique: [
      ['environment_id', 'customer_id', 'token_hash'],
      ['environment_id', 'customer_id', 'code_hash'],
      ['environment_id', 'customer_id', 'cookie_token_hash'],
    ],
  },
  /** An environment's portal settings: the updatePortalSettings body as stored, JSON. */
  portal_settings: {
    columns: { environment_id: 'text', settings: 'text', updated_at: 'bigint' },
    nullable: [],
    primaryKey: ['environment_id'],
  },
  /** Stripe event ids handled once; a redelivery finds its id here and changes nothing. */
  stripe_events: {
    columns: { id: 'text', type: 'text', outcome: 'text', received_at: 'bigint' },
    nullable: [],
    primaryKey: ['id'],
  },
  plans: {
    columns: { environment_id: 'text', id: 'text', name: 'text', latest_version: 'bigint', created_at: 'bigint' },
    nullable: ['name'],
    primaryKey: ['environment_id', 'id'],
  },
  plan_versions: {
    columns: {
      environment_id: 'text',
      plan_id: 'text',
      version: 'bigint',
      /** The version's wire body (amounts normalized), JSON. */
      definition: 'text',
      created_at: 'bigint',
    },
    nullable: [],
    primaryKey: ['environment_id', 'plan_id', 'version'],
    appendOnly: true,
  },
  subscriptions: {
    columns: {
      environment_id: 'text',
      id: 'text',
      customer_id: 'text',
      plan_id: 'text',
      plan_version: 'bigint',
      status: 'text',
      time_zone: 'text',
      anchor_at: 'bigint',
      period_index: 'bigint',
      period_starts_at: 'bigint',
      period_ends_at: 'bigint',
      trial_ends_at: 'bigint',
      trial_notice_sent: 'bigint',
      cancel_at_period_end: 'bigint',
      pending_plan_id: 'text',
      pending_plan_version: 'bigint',
      paused_at: 'bigint',
      ended_at: 'bigint',
      /** JSON array: per allowance of the current plan, the last allowance period issued. */
      allowances_issued: 'text',
      /** When the scheduler must look at it next; null once nothing can be due. */
      next_due_at: 'bigint',
      metadata: 'text',
      created_at: 'bigint',
    },
    nullable: [
      'trial_ends_at',
      'pending_plan_id',
      'pending_plan_version',
      'paused_at',
      'ended_at',
      'next_due_at',
      'metadata',
    ],
    primaryKey: ['environment_id', 'customer_id', 'id'],
    indexes: [{ columns: ['next_due_at'], where: 'next_due_at IS NOT NULL' }, ['environment_id', 'id']],
  },
  subscription_periods: {
    columns: {
      environment_id: 'text',
      customer_id: 'text',
      subscription_id: 'text',
      /** Period indexes restart at 0 when a plan change or a resume starts a new phase; rows count on. */
      position: 'bigint',
      period_index: 'bigint',
      starts_at: 'bigint',
      ends_at: 'bigint',
      plan_id: 'text',
      plan_version: 'bigint',
      created_at: 'bigint',
    },
    nullable: [],
    primaryKey: ['environment_id', 'customer_id', 'subscription_id', 'position'],
    appendOnly: true,
  },
  /** Every grant a subscription issued, by its unique source: issuing twice is impossible, and voids find it. */
  subscription_grants: {
    columns: {
      environment_id: 'text',
      customer_id: 'text',
      source: 'text',
      subscription_id: 'text',
      asset: 'text',
      grant_id: 'text',
      created_at: 'bigint',
    },
    nullable: [],
    primaryKey: ['environment_id', 'customer_id', 'source'],
    appendOnly: true,
  },
  /** Once-only notices the scheduler sent (`grant.expiring_soon` per grant), so no restart sends one twice. */
  scheduled_notices: {
    columns: { environment_id: 'text', kind: 'text', target: 'text', created_at: 'bigint' },
    nullable: [],
    primaryKey: ['environment_id', 'kind', 'target'],
    appendOnly: true,
  },
  /**
   * The customer of each id the API takes alone (`/v1/holds/{id}`, grants, transactions,
   * subscriptions, top-ups), written with the row it names: a lookup by id finds the customer
   * here, then reads the row by its whole key (docs/distribution.md).
   */
  id_owners: {
    columns: { environment_id: 'text', id: 'text', customer_id: 'text' },
    nullable: [],
    primaryKey: ['environment_id', 'id'],
  },
  /** Scheduler jobs that failed: attempts, the last error, and when to retry (backoff). */
  job_failures: {
    columns: {
      environment_id: 'text',
      kind: 'text',
      target: 'text',
      attempts: 'bigint',
      last_error: 'text',
      retry_at: 'bigint',
      updated_at: 'bigint',
    },
    nullable: [],
    primaryKey: ['environment_id', 'kind', 'target'],
  },
} as const satisfies Record<string, TableSpec>;

export type TableName = keyof typeof tables;
type ColumnValue<Type> = Type extends 'bigint' ? bigint : string;

/**
 * A row of one table as both backends return it (the drivers read 64-bit integers as bigint):
 * bigint columns as bigint, text as string, null only where the column is declared nullable.
 */
export type TableRow<Table extends TableName> = {
  [Column in keyof (typeof tables)[Table]['columns']]:
    | ColumnValue<(typeof tables)[Table]['columns'][Column]>
    | (Column extends (typeof tables)[Table]['nullable'][number] ? null : never);
};

/** The schema as the query builder (Kysely) sees it. */
export type DB = { [Table in TableName]: TableRow<Table> };

/** Column names such as `before`, `after`, `key` and `position` are quoted everywhere. */
export function quote(identifier: string): string {
  return `"${identifier}"`;
}
