/**
 * Migration 6: the customer portal's tables. `portal_sessions` holds each session an integrator
 * minted for one customer, keyed (environment, customer, …) like every customer's row, with its
 * bearer token, one-time code and the cookie's token (minted when the code is exchanged) stored
 * only as SHA-256 hashes; `portal_settings` is an
 * environment's portal branding, auto-recharge bounds and top-up prices.
 */
import type { Migration } from 'kysely';
import { sql } from 'kysely';

function statements(integer: 'INTEGER' | 'BIGINT'): string[] {
  return [
    `CREATE TABLE IF NOT EXISTS portal_sessions (
  "environment_id" TEXT NOT NULL,
  "customer_id" TEXT NOT NULL,
  "id" TEXT NOT NULL,
  "token_hash" TEXT NOT NULL,
  "code_hash" TEXT NOT NULL,
  "code_used_at" ${integer},
  "cookie_token_hash" TEXT,
  "return_url" TEXT NOT NULL,
  "api_key_id" TEXT NOT NULL,
  "expires_at" ${integer} NOT NULL,
  "created_at" ${integer} NOT NULL,
  PRIMARY KEY ("environment_id", "customer_id", "id"),
  UNIQUE ("environment_id", "customer_id", "token_hash"),
  UNIQUE ("environment_id", "customer_id", "code_hash"),
  UNIQUE ("environment_id", "customer_id", "cookie_token_hash")
)`,
    `CREATE TABLE IF NOT EXISTS portal_settings (
  "environment_id" TEXT NOT NULL,
  "settings" TEXT NOT NULL,
  "updated_at" ${integer} NOT NULL,
  PRIMARY KEY ("environment_id")
)`,
  ];
}

export function portalMigration(dialect: 'sqlite' | 'postgres'): Migration {
  return {
    async up(db) {
      for (const statement of statements(dialect === 'sqlite' ? 'INTEGER' : 'BIGINT'))
        await sql.raw(statement).execute(db);
    },
  };
}
