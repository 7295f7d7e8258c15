/**
 * What a route is: an operation of `@bursar/api` bound to its handler, whose request types come
 * from that operation's own schemas (through fastify-type-provider-zod's type provider). Matching
 * is Fastify's; this file keeps only the naming of a path parameter the router could not decode.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Operation } from '@bursar/api';
import type { FastifyTypeProvider } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Caller, Reply } from '../contract.ts';

/** An operation as `@bursar/api` declares it (no handler): enough for routing, validation and the OpenAPI document. */
export type RouteSpec = Operation;

/** What a handler receives: every part already validated and parsed by the route's schemas. */
export interface ParsedRequest<Body = unknown, Query = unknown, Params = unknown> {
  readonly caller: Caller;
  /** The origin the client addressed (`http://127.0.0.1:8080`), for links back to this server. */
  readonly origin: string;
  readonly params: Params;
  readonly query: Query;
  readonly body: Body;
}

/**
 * What the handler of a signed operation (one with `signature`, called by another system instead of
 * with an API key) receives: the body exactly as sent, which its signature covers, and the headers.
 */
export interface SignedRequest {
  readonly requestId: string;
  readonly bodyText: string;
  readonly headers: IncomingHttpHeaders;
}

/** A browser route beside the API (no key, no schemas, not in the OpenAPI document): a GET answered by a page or a redirect. */
export interface PageRoute {
  /** The metrics and log label. */
  readonly name: string;
  /** Fastify's form, `/portal/session/:code`. */
  readonly path: string;
  handle(request: PageRequest): Promise<PageAnswer>;
}

export interface PageRequest {
  readonly params: Readonly<Record<string, string>>;
  readonly origin: string;
  readonly requestId: string;
}

export interface PageAnswer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/**
 * An open event stream as a route hands it to the server (text/event-stream): `start` begins
 * pushing events through `send` and returns the function that stops it, which the server calls
 * once, when the client leaves or the server closes. Heartbeats are the server's.
 */
export interface EventStream {
  start(send: (event: string, dataText: string) => void): () => void;
}

export interface Route extends RouteSpec {
  // Method syntax on purpose: a handler typed for its own ParsedRequest<Body, Query, Params> still fits the table.
  handle(request: ParsedRequest): Promise<Reply>;
  /** Set by `signedRoute` only: the server skips the API key and schemas and hands over the raw body. */
  handleSigned?(request: SignedRequest): Promise<Reply>;
  /** Set by `streamRoute` only: a refusal is a Reply; otherwise the stream the server keeps open. */
  handleStream?(request: ParsedRequest): Promise<Reply | EventStream>;
}

/** What the type provider says a schema validates to (as Fastify computes a route's request types). */
type Validated<Provider extends FastifyTypeProvider, Schema> = (Provider & { schema: Schema })['validator'];

/** What a spec's schema for `part` parses to; `unknown` when the spec has none, so a handler cannot lean on it. */
type Parsed<Spec, Part extends 'body' | 'query' | 'params'> = Spec extends { readonly [P in Part]: infer Schema }
  ? Validated<ZodTypeProvider, Schema>
  : unknown;

/** A handler typed by its own operation: its body, query and path parameters are what that operation's schemas parse. */
type Handler<Spec extends RouteSpec> = (
  request: ParsedRequest<Parsed<Spec, 'body'>, Parsed<Spec, 'query'>, Parsed<Spec, 'params'>>,
) => Promise<Reply>;

/** Binds a handler to an operation; the handler's types come from that operation's schemas, never from elsewhere. */
export function route<const Spec extends RouteSpec>(spec: Spec, handle: Handler<Spec>): Route {
  return { ...spec, handle: handle as Route['handle'] };
}

/** Binds the handler of a signed operation; it checks the signature itself, on the raw body. */
export function signedRoute(
  spec: RouteSpec & { readonly signature: string },
  handleSigned: (request: SignedRequest) => Promise<Reply>,
): Route {
  return {
    ...spec,
    handle: () => Promise.reject(new Error(`assertion failed: ${spec.operationId} is answered by handleSigned`)),
    handleSigned,
  };
}

/** Binds the handler of an event-stream operation (`eventStream`): it answers a refusal or a stream. */
export function streamRoute<const Spec extends RouteSpec & { readonly eventStream: true }>(
  spec: Spec,
  handleStream: (
    request: ParsedRequest<Parsed<Spec, 'body'>, Parsed<Spec, 'query'>, Parsed<Spec, 'params'>>,
  ) => Promise<Reply | EventStream>,
): Route {
  return {
    ...spec,
    handle: () => Promise.reject(new Error(`assertion failed: ${spec.operationId} is answered by handleStream`)),
    handleStream: handleStream as NonNullable<Route['handleStream']>,
  };
}

const parameterPattern = /^\{([A-Za-z_][A-Za-z0-9_]*)\}$/;

/**
 * The router refuses a URL whose percent-encoding is not UTF-8 without saying where; this finds
 * the parameter of the first route whose literal segments match, so the 400 can name it. Null
 * when no route's parameter holds the bad segment. Runs only on that refusal.
 */
export function nameMalformedParameter(routes: readonly RouteSpec[], url: string): string | null {
  const parts = (url.split('?', 1)[0] ?? '').split('/');
  const badIndex = parts.findIndex((part) => {
    try {
      decodeURIComponent(part);
      return false;
    } catch {
      return true;
    }
  });
  if (badIndex === -1) return null;
  for (const { path } of routes) {
    const segments = path.split('/');
    if (segments.length !== parts.length) continue;
    const matches = segments.every((segment, index) => parameterPattern.test(segment) || segment === parts[index]);
    const name = parameterPattern.exec(segments[badIndex] ?? '')?.[1];
    if (matches && name !== undefined) return name;
  }
  return null;
}
