/**
 * Migration 7: every primary key of a customer's rows starts with (environment_id, customer_id), so a
 * distributed PostgreSQL (Citus) can shard them by customer (docs/distribution.md); reservations and
 * subscription periods gain the customer of their parent; `id_owners` maps each id the API looks up
 * alone (hold, grant, transaction, subscription, top-up) to its customer.
 */
import type { Migration } from 'kysely';
import { sql } from 'kysely';

/**
 * A rebuilt table as this migration leaves it, frozen: its columns (`name`, `name int`, `… null`),
 * its key, its secondary indexes, and for a child table the parent whose customer it copies.
 */
interface RebuiltTable {
  readonly columns: readonly string[];
  readonly primaryKey: readonly string[];
  readonly indexes: readonly { name: string; columns: readonly string[]; where?: string }[];
  /** Indexes the old key made redundant, or that the new key replaces. */
  readonly dropped?: readonly string[];
  readonly appendOnly?: boolean;
  /** A child without a customer column: the parent table and the child's column naming the parent's id. */
  readonly customerFrom?: { readonly parent: string; readonly parentId: string };
}

const rebuilt: Readonly<Record<string, RebuiltTable>> = {
  grants: {
    columns: [
      'environment_id',
      'customer_id',
      'asset',
      'id',
      'amount int',
      'remaining int',
      'reserved int',
      'category',
      'priority int',
      'effective_at int',
      'expires_at int null',
      'features null',
      'cost_currency null',
      'cost_total null',
      'reason null',
      'metadata null',
      'created_at int',
      'voided_at int null',
      'rollover null',
    ],
    primaryKey: ['environment_id', 'customer_id', 'id'],
    indexes: [
      { name: 'grants_environment_id_customer_id_asset', columns: ['environment_id', 'customer_id', 'asset'] },
      { name: 'grants_expires_at', columns: ['expires_at'] },
      // listGrants without a customer walks the environment's grants by id.
      { name: 'grants_environment_id_id', columns: ['environment_id', 'id'] },
    ],
  },
  holds: {
    columns: [
      'environment_id',
      'customer_id',
      'asset',
      'id',
      'amount int',
      'captured int',
      'status',
      'feature null',
      'expires_at int',
      'metadata null',
      'created_at int',
      'ended_at int null',
    ],
    primaryKey: ['environment_id', 'customer_id', 'id'],
    indexes: [
      {
        name: 'holds_environment_id_customer_id_asset_status',
        columns: ['environment_id', 'customer_id', 'asset', 'status'],
      },
      { name: 'holds_status_expires_at', columns: ['status', 'expires_at'] },
    ],
  },
  hold_reservations: {
    columns: ['environment_id', 'customer_id', 'hold_id', 'position int', 'grant_id null', 'amount int'],
    primaryKey: ['environment_id', 'customer_id', 'hold_id', 'position'],
    indexes: [],
    appendOnly: true,
    customerFrom: { parent: 'holds', parentId: 'hold_id' },
  },
  transactions: {
    columns: [
      'environment_id',
      'customer_id',
      'asset',
      'id',
      'kind',
      'amount int',
      'feature null',
      'hold_id null',
      'grant_id null',
      'reverses_id null',
      'reason null',
      'metadata null',
      'request_id null',
      'created_at int',
    ],
    primaryKey: ['environment_id', 'customer_id', 'id'],
    indexes: [
      { name: 'transactions_environment_id_reverses_id', columns: ['environment_id', 'reverses_id'] },
      { name: 'transactions_environment_id_hold_id', columns: ['environment_id', 'hold_id'] },
      // Takes the place of (environment_id, customer_id, id), now the key: listTransactions without a customer.
      { name: 'transactions_environment_id_id', columns: ['environment_id', 'id'] },
    ],
    dropped: ['transactions_environment_id_customer_id_id'],
    appendOnly: true,
  },
  entries: {
    columns: [
      'environment_id',
      'customer_id',
      'transaction_id',
      'position int',
      'asset',
      'account',
      'grant_id null',
      'amount int',
    ],
    primaryKey: ['environment_id', 'customer_id', 'transaction_id', 'position'],
    indexes: [],
    appendOnly: true,
  },
  outbox: {
    columns: [
      'id',
      'environment_id',
      'type',
      'customer_id',
      'asset',
      'data',
      'created_at int',
      'delivered_at int null',
    ],
    primaryKey: ['environment_id', 'customer_id', 'id'],
    indexes: [
      { name: 'outbox_delivered_at_id', columns: ['delivered_at', 'id'] },
      // listNotifications walks the environment's events by id.
      { name: 'outbox_environment_id_id', columns: ['environment_id', 'id'] },
    ],
  },
  events: {
    columns: [
      'environment_id',
      'id',
      'customer_id',
      'feature',
      'occurred_at int',
      'properties',
      'quantities',
      'asset',
      'cost int',
      'transaction_id',
      'price_book',
      'price_version int',
      'received_at int',
    ],
    primaryKey: ['environment_id', 'customer_id', 'id'],
    indexes: [
      {
        name: 'events_environment_id_customer_id_occurred_at',
        columns: ['environment_id', 'customer_id', 'occurred_at'],
      },
    ],
    appendOnly: true,
  },
  event_costs: {
    columns: [
      'environment_id',
      'event_id',
      'customer_id',
      'feature',
      'model',
      'occurred_at int',
      'provider_cost',
      'asset',
      'charged int',
      'transaction_id',
    ],
    primaryKey: ['environment_id', 'customer_id', 'event_id'],
    indexes: [{ name: 'event_costs_environment_id_occurred_at', columns: ['environment_id', 'occurred_at'] }],
  },
  topups: {
    columns: [
      'environment_id',
      'id',
      'customer_id',
      'asset',
      'amount int',
      'status',
      'reason null',
      'provider_reference null',
      'cost_currency null',
      'cost_total null',
      'grant_id null',
      'attempts int',
      'lease_until int null',
      'created_at int',
      'settled_at int null',
    ],
    primaryKey: ['environment_id', 'customer_id', 'id'],
    indexes: [
      { name: 'topups_environment_id_customer_id_asset_id', columns: ['environment_id', 'customer_id', 'asset', 'id'] },
      { name: 'topups_lease_until', columns: ['lease_until'], where: "status = 'requested'" },
      { name: 'topups_provider_reference', columns: ['provider_reference'] },
    ],
  },
  stripe_checkouts: {
    columns: [
      'environment_id',
      'id',
      'customer_id',
      'asset',
      'amount int',
      'price_currency',
      'price_total',
      'url null',
      'status',
      'payment_intent null',
      'paid_currency null',
      'paid_total null',
      'grant_id null',
      'reversal_reason null',
      'reversal_voided int null',
      'reversal_consumed int null',
      'created_at int',
      'settled_at int null',
      'reversed_at int null',
    ],
    primaryKey: ['environment_id', 'customer_id', 'id'],
    indexes: [
      // Stripe's webhook names a session by its id alone; Stripe keeps it unique, so no constraint is needed.
      { name: 'stripe_checkouts_id', columns: ['id'] },
      { name: 'stripe_checkouts_payment_intent', columns: ['payment_intent'] },
    ],
    dropped: ['stripe_checkouts_id'],
  },
  subscriptions: {
    columns: [
      'environment_id',
      'id',
      'customer_id',
      'plan_id',
      'plan_version int',
      'status',
      'time_zone',
      'anchor_at int',
      'period_index int',
      'period_starts_at int',
      'period_ends_at int',
      'trial_ends_at int null',
      'trial_notice_sent int',
      'cancel_at_period_end int',
      'pending_plan_id null',
      'pending_plan_version int null',
      'paused_at int null',
      'ended_at int null',
      'allowances_issued',
      'next_due_at int null',
      'metadata null',
      'created_at int',
    ],
    primaryKey: ['environment_id', 'customer_id', 'id'],
    indexes: [
      { name: 'subscriptions_next_due_at', columns: ['next_due_at'], where: 'next_due_at IS NOT NULL' },
      // listSubscriptions without a customer walks the environment's subscriptions by id.
      { name: 'subscriptions_environment_id_id', columns: ['environment_id', 'id'] },
    ],
    // The key now begins with (environment_id, customer_id).
    dropped: ['subscriptions_environment_id_customer_id'],
  },
  subscription_periods: {
    columns: [
      'environment_id',
      'customer_id',
      'subscription_id',
      'position int',
      'period_index int',
      'starts_at int',
      'ends_at int',
      'plan_id',
      'plan_version int',
      'created_at int',
    ],
    primaryKey: ['environment_id', 'customer_id', 'subscription_id', 'position'],
    indexes: [],
    appendOnly: true,
    customerFrom: { parent: 'subscriptions', parentId: 'subscription_id' },
  },
};

/** The tables whose ids the API takes alone (`/v1/holds/{id}`, …): their ids go into `id_owners`. */
const ownedIdTables = ['holds', 'grants', 'transactions', 'subscriptions', 'topups'] as const;

const quoted = (names: readonly string[]) => names.map((name) => `"${name}"`).join(', ');

function columnDefinition(column: string, integer: string): string {
  const [name, ...flags] = column.split(' ');
  const type = flags.includes('int') ? integer : 'TEXT';
  return `"${name}" ${type}${flags.includes('null') ? '' : ' NOT NULL'}`;
}

function indexStatement(table: string, index: RebuiltTable['indexes'][number]): string {
  const where = index.where === undefined ? '' : ` WHERE ${index.where}`;
  return `CREATE INDEX IF NOT EXISTS ${index.name} ON ${table} (${quoted(index.columns)})${where}`;
}

function sqliteStatements(): string[] {
  const statements: string[] = [];
  for (const [table, spec] of Object.entries(rebuilt)) {
    const staging = `${table}_0007`;
    const names = spec.columns.map((column) => column.split(' ')[0] ?? column);
    statements.push(
      `CREATE TABLE ${staging} (\n  ${[...spec.columns.map((column) => columnDefinition(column, 'INTEGER')), `PRIMARY KEY (${quoted(spec.primaryKey)})`].join(',\n  ')}\n)`,
    );
    if (spec.customerFrom === undefined) {
      statements.push(`INSERT INTO ${staging} (${quoted(names)}) SELECT ${quoted(names)} FROM ${table}`);
    } else {
      // LEFT JOIN: a row without its parent fails the NOT NULL, loudly, rather than vanish.
      const { parent, parentId } = spec.customerFrom;
      const selected = names.map((name) => (name === 'customer_id' ? 'p."customer_id"' : `c."${name}"`)).join(', ');
      statements.push(
        `INSERT INTO ${staging} (${quoted(names)}) SELECT ${selected} FROM ${table} c LEFT JOIN ${parent} p ON p."environment_id" = c."environment_id" AND p."id" = c."${parentId}"`,
      );
    }
    statements.push(`DROP TABLE ${table}`, `ALTER TABLE ${staging} RENAME TO ${table}`);
    for (const index of spec.indexes) statements.push(indexStatement(table, index));
    if (spec.appendOnly === true) {
      for (const [suffix, verb] of [
        ['no_update', 'UPDATE'],
        ['no_delete', 'DELETE'],
      ] as const) {
        statements.push(
          `CREATE TRIGGER IF NOT EXISTS ${table}_${suffix} BEFORE ${verb} ON ${table} BEGIN SELECT RAISE(ABORT, 'append_only: ${table} rows are never updated or deleted'); END`,
        );
      }
    }
  }
  return statements;
}

function postgresStatements(): string[] {
  const statements: string[] = [];
  for (const [table, spec] of Object.entries(rebuilt)) {
    if (spec.customerFrom !== undefined) {
      // The append-only trigger refuses the backfill's UPDATE; it is off for this one statement.
      const { parent, parentId } = spec.customerFrom;
      statements.push(
        `ALTER TABLE ${table} ADD COLUMN IF NOT EXISTS "customer_id" TEXT`,
        `ALTER TABLE ${table} DISABLE TRIGGER ${table}_append_only`,
        `UPDATE ${table} c SET "customer_id" = p."customer_id" FROM ${parent} p WHERE p."environment_id" = c."environment_id" AND p."id" = c."${parentId}"`,
        `ALTER TABLE ${table} ENABLE TRIGGER ${table}_append_only`,
        `ALTER TABLE ${table} ALTER COLUMN "customer_id" SET NOT NULL`,
      );
    }
    for (const index of spec.dropped ?? []) statements.push(`DROP INDEX IF EXISTS ${index}`);
    statements.push(
      `ALTER TABLE ${table} DROP CONSTRAINT ${table}_pkey, ADD CONSTRAINT ${table}_pkey PRIMARY KEY (${quoted(spec.primaryKey)})`,
    );
    for (const index of spec.indexes) statements.push(indexStatement(table, index));
  }
  return statements;
}

function idOwnersStatements(): string[] {
  const owned = ownedIdTables
    .map((table) => `SELECT "environment_id", "id", "customer_id" FROM ${table}`)
    .join(' UNION ALL ');
  return [
    `CREATE TABLE IF NOT EXISTS id_owners (\n  "environment_id" TEXT NOT NULL,\n  "id" TEXT NOT NULL,\n  "customer_id" TEXT NOT NULL,\n  PRIMARY KEY ("environment_id", "id")\n)`,
    // `WHERE true`: SQLite reads ON CONFLICT after a bare FROM as a join's clause.
    `INSERT INTO id_owners ("environment_id", "id", "customer_id") SELECT * FROM (${owned}) owned WHERE true ON CONFLICT DO NOTHING`,
  ];
}

export function customerKeysMigration(dialect: 'sqlite' | 'postgres'): Migration {
  return {
    async up(db) {
      const statements = [
        ...(dialect === 'sqlite' ? sqliteStatements() : postgresStatements()),
        ...idOwnersStatements(),
      ];
      for (const statement of statements) await sql.raw(statement).execute(db);
    },
  };
}
