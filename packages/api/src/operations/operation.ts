/**
 * What an operation of the API is, as data: enough to route and validate a request, to document it
 * and to generate a client, with no handler. The server binds a handler to each one.
 */
import type { z } from 'zod';
import type { Scope } from '../scopes.ts';

export interface Operation {
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** A template such as `/v1/holds/{id}/capture`; each `{name}` is one whole path segment. */
  readonly path: string;
  readonly operationId: string;
  readonly summary: string;
  readonly tag: string;
  /** The least API key scope that may call it (unused when `signature` is set or `principal` is `portal`). */
  readonly scope: Scope;
  /**
   * Who may call it: absent, an API key; `portal`, only a customer's portal session (its routes sit
   * under /v1/portal/ and take no customer id: the session's customer is implied).
   */
  readonly principal?: 'portal';
  /** Answers `text/event-stream`: each event's data is the 200 response's schema. */
  readonly eventStream?: true;
  /**
   * Set on an operation called by another system rather than with an API key (Stripe's webhook):
   * the header whose signature over the raw body authenticates the request, checked by its handler.
   */
  readonly signature?: string;
  /** Validates the decoded path parameters. */
  readonly params?: z.ZodType;
  /** Validates the query string (each value a string); without it any query parameter is refused. */
  readonly query?: z.ZodType;
  /** Validates the JSON body; without it the body is not read. */
  readonly body?: z.ZodType;
  /** The success responses' schemas, by status. */
  readonly responses: Readonly<Record<number, z.ZodType>>;
}
