/**
 * Migration 3: the tables of Stripe payments — links to Stripe customers, Checkout top-ups waiting
 * for or settled by Stripe, the Stripe event ids already handled, debt invoiced per period — and an
 * index that finds a top-up by its payment's id when Stripe reports a refund.
 */
import type { Migration } from 'kysely';
import { sql } from 'kysely';

function statements(dialect: 'sqlite' | 'postgres'): string[] {
  const integer = dialect === 'postgres' ? 'BIGINT' : 'INTEGER';
  return [
    `CREATE TABLE IF NOT EXISTS stripe_customers (
  "environment_id" TEXT NOT NULL,
  "customer_id" TEXT NOT NULL,
  "stripe_customer_id" TEXT NOT NULL,
  "created_at" ${integer} NOT NULL,
  PRIMARY KEY ("environment_id", "customer_id")
)`,
    `CREATE TABLE IF NOT EXISTS stripe_checkouts (
  "environment_id" TEXT NOT NULL,
  "id" TEXT NOT NULL,
  "customer_id" TEXT NOT NULL,
  "asset" TEXT NOT NULL,
  "amount" ${integer} NOT NULL,
  "price_currency" TEXT NOT NULL,
  "price_total" TEXT NOT NULL,
  "url" TEXT,
  "status" TEXT NOT NULL,
  "payment_intent" TEXT,
  "paid_currency" TEXT,
  "paid_total" TEXT,
  "grant_id" TEXT,
  "reversal_reason" TEXT,
  "reversal_voided" ${integer},
  "reversal_consumed" ${integer},
  "created_at" ${integer} NOT NULL,
  "settled_at" ${integer},
  "reversed_at" ${integer},
  PRIMARY KEY ("environment_id", "id")
)`,
    'CREATE UNIQUE INDEX IF NOT EXISTS stripe_checkouts_id ON stripe_checkouts ("id")',
    'CREATE INDEX IF NOT EXISTS stripe_checkouts_payment_intent ON stripe_checkouts ("payment_intent")',
    `CREATE TABLE IF NOT EXISTS stripe_events (
  "id" TEXT NOT NULL,
  "type" TEXT NOT NULL,
  "outcome" TEXT NOT NULL,
  "received_at" ${integer} NOT NULL,
  PRIMARY KEY ("id")
)`,
    `CREATE TABLE IF NOT EXISTS stripe_overage_invoices (
  "environment_id" TEXT NOT NULL,
  "customer_id" TEXT NOT NULL,
  "asset" TEXT NOT NULL,
  "period" TEXT NOT NULL,
  "debt" ${integer} NOT NULL,
  "currency" TEXT NOT NULL,
  "total" TEXT NOT NULL,
  "status" TEXT NOT NULL,
  "invoice_item" TEXT,
  "grant_id" TEXT,
  "created_at" ${integer} NOT NULL,
  "invoiced_at" ${integer},
  PRIMARY KEY ("environment_id", "customer_id", "asset", "period")
)`,
    'CREATE INDEX IF NOT EXISTS topups_provider_reference ON topups ("provider_reference")',
  ];
}

/**
 * `IF NOT EXISTS` throughout: a database whose history table was lost (tests stage an older version
 * that way) runs the whole history again over objects it already has.
 */
export function stripePaymentsMigration(dialect: 'sqlite' | 'postgres'): Migration {
  return {
    async up(db) {
      for (const statement of statements(dialect)) await sql.raw(statement).execute(db);
    },
  };
}
