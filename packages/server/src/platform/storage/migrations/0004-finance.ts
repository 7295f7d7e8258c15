/**
 * Migration 4: the finance tables. `event_costs` keeps beside each charged usage event what it
 * cost at the model provider's price; `provider_costs` holds the provider's own cost exports, per
 * day and model; `finance_settings` is an environment's margin alert policy; `margin_windows` is
 * each customer's rolling window of recognized revenue and provider cost, with its alert state.
 */
import type { Migration } from 'kysely';
import { sql } from 'kysely';

function statements(integer: 'INTEGER' | 'BIGINT'): string[] {
  return [
    `CREATE TABLE IF NOT EXISTS event_costs (
  "environment_id" TEXT NOT NULL,
  "event_id" TEXT NOT NULL,
  "customer_id" TEXT NOT NULL,
  "feature" TEXT NOT NULL,
  "model" TEXT NOT NULL,
  "occurred_at" ${integer} NOT NULL,
  "provider_cost" TEXT NOT NULL,
  "asset" TEXT NOT NULL,
  "charged" ${integer} NOT NULL,
  "transaction_id" TEXT NOT NULL,
  PRIMARY KEY ("environment_id", "event_id")
)`,
    'CREATE INDEX IF NOT EXISTS event_costs_environment_id_occurred_at ON event_costs ("environment_id", "occurred_at")',
    `CREATE TABLE IF NOT EXISTS provider_costs (
  "environment_id" TEXT NOT NULL,
  "provider" TEXT NOT NULL,
  "day" TEXT NOT NULL,
  "model" TEXT NOT NULL,
  "cost" TEXT NOT NULL,
  "imported_at" ${integer} NOT NULL,
  PRIMARY KEY ("environment_id", "provider", "day", "model")
)`,
    `CREATE TABLE IF NOT EXISTS finance_settings (
  "environment_id" TEXT NOT NULL,
  "margin_low_threshold" TEXT,
  "margin_window_days" ${integer} NOT NULL,
  "margin_currency" TEXT NOT NULL,
  "updated_at" ${integer} NOT NULL,
  PRIMARY KEY ("environment_id")
)`,
    `CREATE TABLE IF NOT EXISTS margin_windows (
  "environment_id" TEXT NOT NULL,
  "customer_id" TEXT NOT NULL,
  "days" TEXT NOT NULL,
  "low" ${integer} NOT NULL,
  PRIMARY KEY ("environment_id", "customer_id")
)`,
  ];
}

export function financeMigration(dialect: 'sqlite' | 'postgres'): Migration {
  return {
    async up(db) {
      for (const statement of statements(dialect === 'sqlite' ? 'INTEGER' : 'BIGINT'))
        await sql.raw(statement).execute(db);
    },
  };
}
