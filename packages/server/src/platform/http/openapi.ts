/**
 * Builds the OpenAPI 3.1 document from the route table, so the reference is generated from the
 * same schemas that validate requests. Responses and request bodies become named components;
 * every refusal points at the one Problem schema.
 */
import { readFileSync } from 'node:fs';
import { resourceSchemas } from '@bursar/api';
import { z } from 'zod';
import type { Scope } from '../contract.ts';
import { problemContentType, problemSchema } from './problem.ts';
import type { RouteSpec } from './router.ts';

export type JsonSchema = Readonly<Record<string, unknown>>;

export interface OpenApiParameter {
  readonly name: string;
  readonly in: 'path' | 'query' | 'header';
  readonly required: boolean;
  readonly description?: string;
  readonly schema: JsonSchema;
}

export interface OpenApiResponse {
  readonly description: string;
  readonly headers?: Readonly<Record<string, { readonly description: string; readonly schema: JsonSchema }>>;
  readonly content?: Readonly<Record<string, { readonly schema: JsonSchema }>>;
}

export interface OpenApiOperation {
  readonly operationId: string;
  readonly summary: string;
  readonly tags: readonly string[];
  /** The least API key scope that may call the operation; absent when no key is needed. */
  readonly 'x-bursar-scope'?: Scope;
  readonly security?: readonly Readonly<Record<string, readonly string[]>>[];
  readonly parameters: readonly OpenApiParameter[];
  readonly requestBody?: {
    readonly required: boolean;
    readonly content: Readonly<Record<string, { readonly schema: JsonSchema }>>;
  };
  readonly responses: Readonly<Record<string, OpenApiResponse>>;
}

export interface OpenApiDocument {
  readonly openapi: '3.1.0';
  readonly info: { readonly title: string; readonly version: string; readonly description: string };
  readonly servers: readonly { readonly url: string }[];
  readonly tags: readonly { readonly name: string }[];
  readonly security: readonly Readonly<Record<string, readonly string[]>>[];
  readonly paths: Readonly<Record<string, Readonly<Record<string, OpenApiOperation>>>>;
  readonly components: {
    readonly schemas: Readonly<Record<string, JsonSchema>>;
    readonly securitySchemes: Readonly<Record<string, JsonSchema>>;
  };
}

const componentPrefix = '#/components/schemas/';
const systemTag = 'System';

const description = [
  'Bursar is a real-time credits ledger. Every /v1 request needs `Authorization: Bearer <API key>`;',
  'each operation names the least key scope it needs (`x-bursar-scope`).',
  'Amounts are decimal strings in the asset unit ("12.5"); a JSON number is accepted only as a safe integer.',
  'Times are RFC 3339. Every POST takes an optional `Idempotency-Key`: the same key and request return the',
  'stored response, marked `Idempotent-Replayed: true`. Every refusal is `application/problem+json`.',
].join(' ');

const requestIdHeader = {
  description: "The request id: the client's X-Request-Id when it was valid, otherwise one the server made up.",
  schema: { type: 'string' },
};
const replayedHeader = {
  description:
    'Present and `true` when this is the stored response of an earlier request with the same Idempotency-Key.',
  schema: { type: 'string', enum: ['true'] },
};

const idempotencyKeyParameter: OpenApiParameter = {
  name: 'Idempotency-Key',
  in: 'header',
  required: false,
  description: 'Makes a retry safe: 1–255 printable ASCII characters, unique per intended change.',
  schema: { type: 'string', minLength: 1, maxLength: 255, pattern: '^[\\x20-\\x7E]+$' },
};

const problemResponses: Readonly<Record<string, OpenApiResponse>> = {
  '429': {
    description: 'rate_limited: this API key sent more requests than its rate limit allows.',
    headers: {
      'X-Request-Id': requestIdHeader,
      'Retry-After': {
        description: 'Whole seconds to wait before the next request.',
        schema: { type: 'integer', minimum: 1 },
      },
    },
    content: { [problemContentType]: { schema: { $ref: `${componentPrefix}Problem` } } },
  },
  '4XX': {
    description: 'Refused: the `code` says why. Validation failures list every field in `errors`.',
    headers: { 'X-Request-Id': requestIdHeader },
    content: { [problemContentType]: { schema: { $ref: `${componentPrefix}Problem` } } },
  },
  '5XX': {
    description: 'Failed on the server; retry later with the same Idempotency-Key.',
    headers: { 'X-Request-Id': requestIdHeader },
    content: { [problemContentType]: { schema: { $ref: `${componentPrefix}Problem` } } },
  },
};

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** The emitted component schemas carry their own `$schema` and `$id`; inside an OpenAPI document those are noise. */
function toComponents(
  registry: z.core.$ZodRegistry<{ id: string }>,
  io: 'input' | 'output',
): Record<string, JsonSchema> {
  const { schemas } = z.toJSONSchema(registry, { target: 'draft-2020-12', io, uri: (id) => componentPrefix + id });
  const components: Record<string, JsonSchema> = {};
  for (const [name, schema] of Object.entries(schemas)) {
    const { $schema: _schema, $id: _id, ...rest } = schema as Record<string, unknown>;
    components[name] = rest;
  }
  return components;
}

function toInputJsonSchema(schema: z.ZodType): Record<string, unknown> {
  return z.toJSONSchema(schema, { target: 'draft-2020-12', io: 'input' }) as Record<string, unknown>;
}

function toParameters(route: RouteSpec): OpenApiParameter[] {
  const parameters: OpenApiParameter[] = [];
  const pathProperties =
    route.params === undefined
      ? {}
      : ((toInputJsonSchema(route.params).properties ?? {}) as Record<string, JsonSchema>);
  for (const match of route.path.matchAll(/\{([A-Za-z_][A-Za-z0-9_]*)\}/g)) {
    const name = match[1] ?? '';
    parameters.push({ name, in: 'path', required: true, schema: pathProperties[name] ?? { type: 'string' } });
  }
  if (route.query !== undefined) {
    const query = toInputJsonSchema(route.query);
    const required = new Set((query.required ?? []) as string[]);
    for (const [name, schema] of Object.entries((query.properties ?? {}) as Record<string, JsonSchema>)) {
      const { description: text, ...rest } = schema;
      const parameter = { name, in: 'query' as const, required: required.has(name), schema: rest };
      parameters.push(typeof text === 'string' ? { ...parameter, description: text } : parameter);
    }
  }
  if (route.method === 'POST') parameters.push(idempotencyKeyParameter);
  return parameters;
}

function toOperation(
  route: RouteSpec,
  responseNames: ReadonlyMap<z.ZodType, string>,
  bodyNames: ReadonlyMap<z.ZodType, string>,
): OpenApiOperation {
  const responses: Record<string, OpenApiResponse> = {};
  for (const [status, schema] of Object.entries(route.responses)) {
    const headers =
      route.method === 'POST'
        ? { 'X-Request-Id': requestIdHeader, 'Idempotent-Replayed': replayedHeader }
        : { 'X-Request-Id': requestIdHeader };
    responses[status] = {
      description: status === '201' ? 'Created' : 'OK',
      headers,
      content: { 'application/json': { schema: { $ref: componentPrefix + (responseNames.get(schema) ?? '') } } },
    };
  }
  const operation: OpenApiOperation = {
    operationId: route.operationId,
    summary: route.summary,
    tags: [route.tag],
    'x-bursar-scope': route.scope,
    parameters: toParameters(route),
    responses: { ...responses, ...problemResponses },
  };
  if (route.body === undefined) return operation;
  const bodyName = bodyNames.get(route.body) ?? '';
  return {
    ...operation,
    requestBody: { required: true, content: { 'application/json': { schema: { $ref: componentPrefix + bodyName } } } },
  };
}

/** The endpoints outside /v1 that need no key: probes, metrics and this reference. */
function toSystemPaths(): Record<string, Record<string, OpenApiOperation>> {
  const system = (
    operationId: string,
    summary: string,
    contentType: string,
    schema: JsonSchema,
  ): Record<string, OpenApiOperation> => ({
    get: {
      operationId,
      summary,
      tags: [systemTag],
      security: [],
      parameters: [],
      responses: { '200': { description: 'OK', content: { [contentType]: { schema } } } },
    },
  });
  const status = { type: 'object', properties: { status: { type: 'string' } }, required: ['status'] };
  return {
    '/healthz': system('getHealth', 'Liveness: the process is up.', 'application/json', status),
    '/readyz': system(
      'getReadiness',
      'Readiness: 200 when the server takes traffic, 503 while starting or stopping.',
      'application/json',
      status,
    ),
    '/metrics': system('getMetrics', 'Prometheus metrics, text format 0.0.4.', 'text/plain', { type: 'string' }),
    '/openapi.json': system('getOpenApiDocument', 'This OpenAPI document.', 'application/json', { type: 'object' }),
    '/docs': system('getDocsPage', 'The browsable API reference.', 'text/html', { type: 'string' }),
  };
}

/** The server package's version, the default for the document's `info.version`. */
function readPackageVersion(): string {
  const manifest = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
    version?: unknown;
  };
  return typeof manifest.version === 'string' ? manifest.version : '0.0.0';
}

export function buildOpenApiDocument(
  routes: readonly RouteSpec[],
  options: { version?: string; serverUrl?: string } = {},
): OpenApiDocument {
  const outputs = z.registry<{ id: string }>();
  outputs.add(problemSchema, { id: 'Problem' });
  for (const [name, schema] of Object.entries(resourceSchemas)) outputs.add(schema, { id: name });
  const inputs = z.registry<{ id: string }>();
  const responseNames = new Map<z.ZodType, string>();
  const bodyNames = new Map<z.ZodType, string>();
  for (const [name, schema] of Object.entries(resourceSchemas)) responseNames.set(schema, name);
  for (const route of routes) {
    for (const [status, schema] of Object.entries(route.responses)) {
      if (responseNames.has(schema)) continue;
      // A response without a name of its own (a test's route, say) is named after its operation.
      const name = `${capitalize(route.operationId)}${status}`;
      responseNames.set(schema, name);
      outputs.add(schema, { id: name });
    }
    // An operation reusing another's body (checkDebit, createDebit) refers to the first one's component.
    if (route.body !== undefined && !bodyNames.has(route.body)) {
      const name = `${capitalize(route.operationId)}Body`;
      bodyNames.set(route.body, name);
      inputs.add(route.body, { id: name });
    }
  }

  const paths: Record<string, Record<string, OpenApiOperation>> = {};
  const tags: string[] = [];
  for (const route of routes) {
    const methods = paths[route.path] ?? {};
    methods[route.method.toLowerCase()] = toOperation(route, responseNames, bodyNames);
    paths[route.path] = methods;
    if (!tags.includes(route.tag)) tags.push(route.tag);
  }
  tags.push(systemTag);

  return {
    openapi: '3.1.0',
    info: { title: 'Bursar', version: options.version ?? readPackageVersion(), description },
    servers: [{ url: options.serverUrl ?? '/' }],
    tags: tags.map((name) => ({ name })),
    security: [{ bearerAuth: [] }],
    paths: { ...paths, ...toSystemPaths() },
    components: {
      schemas: { ...toComponents(outputs, 'output'), ...toComponents(inputs, 'input') },
      securitySchemes: {
        bearerAuth: { type: 'http', scheme: 'bearer', description: 'An API key, `bk_live_…` or `bk_test_…`.' },
      },
    },
  };
}
