/**
 * The route table's shape and path matching. Templates are compiled once at
 * startup: paths without parameters are one map lookup, the rest compare a few segments.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Operation } from '@bursar/api';
import type { z } from 'zod';
import type { Caller, Reply } from '../contract.ts';
import { describeRefusedText } from './request-text.ts';

/** An operation as `@bursar/api` declares it (no handler): enough for matching, validation and the OpenAPI document. */
export type RouteSpec = Operation;

/** What a handler receives: every part already validated and parsed by the route's schemas. */
export interface ParsedRequest<Body = unknown, Query = unknown, Params = unknown> {
  readonly caller: Caller;
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

export interface Route extends RouteSpec {
  // Method syntax on purpose: a handler typed for its own ParsedRequest<Body, Query, Params> still fits the table.
  handle(request: ParsedRequest): Promise<Reply>;
  /** Set by `signedRoute` only: the server skips the API key and schemas and hands over the raw body. */
  handleSigned?(request: SignedRequest): Promise<Reply>;
}

/** What a spec's schema for `part` parses to; `unknown` when the spec has none, so a handler cannot lean on it. */
type Parsed<Spec, Part extends 'body' | 'query' | 'params'> = Spec extends { readonly [P in Part]: infer Schema }
  ? Schema extends z.ZodType
    ? z.output<Schema>
    : unknown
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

export type RouteMatch<T> =
  | { readonly kind: 'found'; readonly entry: T; readonly params: Readonly<Record<string, string>> }
  | { readonly kind: 'route_not_found' }
  | { readonly kind: 'method_not_allowed'; readonly allowed: string }
  | MalformedParameter;

interface MalformedParameter {
  readonly kind: 'malformed_parameter';
  readonly name: string;
  readonly message: string;
}

interface Template<T> {
  readonly entry: T;
  readonly method: string;
  /** Literal segments as strings, parameters as `{ name }`. */
  readonly segments: readonly (string | { readonly name: string })[];
}

const paramsNone: Readonly<Record<string, string>> = Object.freeze({});
const routeNotFound = { kind: 'route_not_found' } as const;
const parameterPattern = /^\{([A-Za-z_][A-Za-z0-9_]*)\}$/;

function toTemplate<T>(entry: T, method: string, path: string): Template<T> {
  const segments = path.split('/').map((segment) => {
    const name = parameterPattern.exec(segment)?.[1];
    return name === undefined ? segment : { name };
  });
  return { entry, method, segments };
}

/** Literal segments sort before parameters, so `/v1/debits/check` wins over a `/v1/debits/{id}`. */
function compareSpecificity<T>(a: Template<T>, b: Template<T>): number {
  for (let index = 0; index < a.segments.length; index += 1) {
    const aLiteral = typeof a.segments[index] === 'string';
    const bLiteral = typeof b.segments[index] === 'string';
    if (aLiteral !== bLiteral) return aLiteral ? -1 : 1;
  }
  return 0;
}

export interface Router<T> {
  /** `path` is the URL path without its query string, still percent-encoded. */
  match(method: string, path: string): RouteMatch<T>;
}

export function createRouter<T extends { readonly method: string; readonly path: string }>(
  entries: readonly T[],
): Router<T> {
  const literalPaths = new Map<string, Map<string, T>>();
  const templatesBySegmentCount = new Map<number, Template<T>[]>();
  for (const entry of entries) {
    const template = toTemplate(entry, entry.method, entry.path);
    if (template.segments.every((segment) => typeof segment === 'string')) {
      const methods = literalPaths.get(entry.path) ?? new Map<string, T>();
      if (methods.has(entry.method)) throw new Error(`duplicate route ${entry.method} ${entry.path}`);
      literalPaths.set(entry.path, methods.set(entry.method, entry));
    } else {
      const bucket = templatesBySegmentCount.get(template.segments.length) ?? [];
      bucket.push(template);
      templatesBySegmentCount.set(template.segments.length, bucket);
    }
  }
  for (const bucket of templatesBySegmentCount.values()) bucket.sort(compareSpecificity);

  function matchTemplates(method: string, path: string, allowed: string[]): RouteMatch<T> {
    const parts = path.split('/');
    for (const template of templatesBySegmentCount.get(parts.length) ?? []) {
      const matched = matchSegments(template.segments, parts);
      if (matched === undefined) continue;
      if (template.method !== method) {
        if (!allowed.includes(template.method)) allowed.push(template.method);
        continue;
      }
      if (matched.kind === 'malformed_parameter') return matched;
      return { kind: 'found', entry: template.entry, params: matched.params };
    }
    return allowed.length === 0 ? routeNotFound : { kind: 'method_not_allowed', allowed: allowed.join(', ') };
  }

  return {
    match(method, path) {
      const methods = literalPaths.get(path);
      const entry = methods?.get(method);
      if (entry !== undefined) return { kind: 'found', entry, params: paramsNone };
      return matchTemplates(method, path, methods === undefined ? [] : [...methods.keys()]);
    },
  };
}

/**
 * Compares a template with a path's parts: undefined when they differ, the decoded parameters when
 * they match, or the name of a parameter whose percent-encoding is not UTF-8 or whose decoded text
 * the server refuses (a NUL, say), with the reason.
 */
function matchSegments(
  segments: Template<unknown>['segments'],
  parts: readonly string[],
): { readonly kind: 'matched'; readonly params: Record<string, string> } | MalformedParameter | undefined {
  let params: Record<string, string> | undefined;
  for (let index = 0; index < segments.length; index += 1) {
    const segment = segments[index] ?? '';
    const part = parts[index] ?? '';
    if (typeof segment === 'string') {
      if (segment !== part) return undefined;
      continue;
    }
    if (part === '') return undefined;
    params ??= {};
    if (part.includes('%')) {
      let decoded: string;
      try {
        decoded = decodeURIComponent(part);
      } catch {
        return { kind: 'malformed_parameter', name: segment.name, message: 'is not valid percent-encoded UTF-8' };
      }
      const refusal = describeRefusedText(decoded);
      if (refusal !== null) return { kind: 'malformed_parameter', name: segment.name, message: refusal };
      params[segment.name] = decoded;
    } else {
      params[segment.name] = part;
    }
  }
  return { kind: 'matched', params: params ?? {} };
}
