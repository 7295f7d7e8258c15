/**
 * Migration 5: `console_sessions`, the console's sign-ins. A session belongs to an API key, not to
 * a customer, so its keys need not begin with a customer; the cookie finds it by its token's hash.
 */
import type { Migration } from 'kysely';
import { sql } from 'kysely';

function statements(integer: 'INTEGER' | 'BIGINT'): string[] {
  return [
    `CREATE TABLE IF NOT EXISTS console_sessions (
  "id" TEXT NOT NULL,
  "environment_id" TEXT NOT NULL,
  "api_key_id" TEXT NOT NULL,
  "token_hash" TEXT NOT NULL,
  "csrf_token" TEXT NOT NULL,
  "created_at" ${integer} NOT NULL,
  "expires_at" ${integer} NOT NULL,
  "ended_at" ${integer},
  PRIMARY KEY ("id"),
  UNIQUE ("token_hash")
)`,
    'CREATE INDEX IF NOT EXISTS console_sessions_environment_id_api_key_id ON console_sessions ("environment_id", "api_key_id")',
  ];
}

export function consoleSessionsMigration(dialect: 'sqlite' | 'postgres'): Migration {
  return {
    async up(db) {
      for (const statement of statements(dialect === 'sqlite' ? 'INTEGER' : 'BIGINT'))
        await sql.raw(statement).execute(db);
    },
  };
}
