/**
 * What an operation of the API is, as data: enough to route and validate a request, to document it
 * and to generate a client, with no handler. The server binds a handler to each one.
 */
import type { z } from 'zod';
import type { Scope } from '../scopes.ts';

export interface Operation {
  readonly method: 'DELETE' | 'GET' | 'POST';
  /** A template such as `/v1/holds/{id}/capture`; each `{name}` is one whole path segment. */
  readonly path: string;
  readonly operationId: string;
  readonly summary: string;
  readonly tag: string;
  /** The least API key scope that may call it (unused when `signature` is set). */
  readonly scope: Scope;
  /**
   * Set on an operation called by another system rather than with an API key (Stripe's webhook):
   * the header whose signature over the raw body authenticates the request, checked by its handler.
   */
  readonly signature?: string;
  /**
   * Set on an operation called with no credentials at all (createConsoleSession, which exchanges
   * the API key in its body for a session): the server checks no key, scope or rate limit.
   */
  readonly unauthenticated?: true;
  /**
   * Set on a write that can be previewed: with `?dry_run=true` (its query carries `dry_run`) it
   * answers 200 with this schema, decided on the current wallets, and writes nothing.
   */
  readonly dryRun?: z.ZodType;
  /** Validates the decoded path parameters. */
  readonly params?: z.ZodType;
  /** Validates the query string (each value a string); without it any query parameter is refused. */
  readonly query?: z.ZodType;
  /** Validates the JSON body; without it the body is not read. */
  readonly body?: z.ZodType;
  /** The success responses' schemas, by status. */
  readonly responses: Readonly<Record<number, z.ZodType>>;
}
