/**
 * Generates the OpenAPI 3.1 document from the contract alone, so a client can be generated without
 * starting a server. Every response, problem and event payload is a named component (its zod
 * `.meta({ id })`); request bodies are components named after their operation; lifecycle events
 * are the `webhooks` section.
 */
import { z } from 'zod';
import { eventPayloads, testEventPayload } from './events.ts';
import type { Operation } from './operations/index.ts';
import { operationList } from './operations/index.ts';
import { problemContentType } from './problems.ts';
import type { Scope } from './scopes.ts';

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

/** A lifecycle event as the receiver sees it: a POST of its payload to the endpoint's URL. */
export interface OpenApiWebhook {
  readonly post: {
    readonly operationId: string;
    readonly summary: string;
    readonly tags: readonly string[];
    readonly requestBody: {
      readonly required: true;
      readonly content: Readonly<Record<string, { readonly schema: JsonSchema }>>;
    };
    readonly responses: Readonly<Record<string, OpenApiResponse>>;
  };
}

export interface OpenApiDocument {
  readonly openapi: '3.1.0';
  readonly info: { readonly title: string; readonly version: string; readonly description: string };
  readonly servers: readonly { readonly url: string }[];
  readonly tags: readonly { readonly name: string }[];
  readonly security: readonly Readonly<Record<string, readonly string[]>>[];
  readonly paths: Readonly<Record<string, Readonly<Record<string, OpenApiOperation>>>>;
  readonly webhooks: Readonly<Record<string, OpenApiWebhook>>;
  readonly components: {
    readonly schemas: Readonly<Record<string, JsonSchema>>;
    readonly securitySchemes: Readonly<Record<string, JsonSchema>>;
  };
}

export interface OpenApiOptions {
  /** The document's `info.version`: the server's version when it serves the document. */
  readonly version: string;
  readonly serverUrl?: string;
  /** Default: every operation of the contract. */
  readonly operations?: readonly Operation[];
}

const componentPrefix = '#/components/schemas/';
const systemTag = 'System';
const webhookTag = 'Webhook events';

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

const problemContent = { [problemContentType]: { schema: { $ref: `${componentPrefix}Problem` } } };

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
    content: problemContent,
  },
  '4XX': {
    description: 'Refused: the `code` says why. Validation failures list every field in `errors`.',
    headers: { 'X-Request-Id': requestIdHeader },
    content: problemContent,
  },
  '5XX': {
    description: 'Failed on the server; retry later with the same Idempotency-Key.',
    headers: { 'X-Request-Id': requestIdHeader },
    content: problemContent,
  },
};

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** The name a schema was given with `.meta({ id })`, if any. */
function nameOf(schema: z.ZodType): string | undefined {
  const id: unknown = z.globalRegistry.get(schema)?.id;
  return typeof id === 'string' ? id : undefined;
}

/** Emitted schemas carry their own `$schema` and `$id`; inside an OpenAPI document those are noise. */
function withoutSchemaKeywords(schema: unknown): Record<string, unknown> {
  const { $schema: _schema, $id: _id, ...rest } = schema as Record<string, unknown>;
  return rest;
}

/**
 * JSON Schema's `default` is an annotation, but client generators (openapi-typescript among them)
 * read it as "always present", which holds for a response and not for a request: in a request
 * component the default moves into the description, and the field stays optional.
 */
function moveDefaultToDescription(context: { jsonSchema: Record<string, unknown> }): void {
  const { jsonSchema } = context;
  if (!('default' in jsonSchema)) return;
  const note = `Default: ${JSON.stringify(jsonSchema.default)}.`;
  jsonSchema.description = typeof jsonSchema.description === 'string' ? `${jsonSchema.description} ${note}` : note;
  delete jsonSchema.default;
}

function toInputJsonSchema(schema: z.ZodType): Record<string, unknown> {
  return z.toJSONSchema(schema, { target: 'draft-2020-12', io: 'input' }) as Record<string, unknown>;
}

function toParameters(operation: Operation): OpenApiParameter[] {
  const parameters: OpenApiParameter[] = [];
  const pathProperties =
    operation.params === undefined
      ? {}
      : ((toInputJsonSchema(operation.params).properties ?? {}) as Record<string, JsonSchema>);
  for (const match of operation.path.matchAll(/\{([A-Za-z_][A-Za-z0-9_]*)\}/g)) {
    const name = match[1] ?? '';
    parameters.push({ name, in: 'path', required: true, schema: pathProperties[name] ?? { type: 'string' } });
  }
  if (operation.query !== undefined) {
    const query = toInputJsonSchema(operation.query);
    const required = new Set((query.required ?? []) as string[]);
    for (const [name, schema] of Object.entries((query.properties ?? {}) as Record<string, JsonSchema>)) {
      const { description: text, ...rest } = schema;
      const parameter = { name, in: 'query' as const, required: required.has(name), schema: rest };
      parameters.push(typeof text === 'string' ? { ...parameter, description: text } : parameter);
    }
  }
  if (operation.method === 'POST') parameters.push(idempotencyKeyParameter);
  return parameters;
}

/** A reference to the schema's component when it has a name, otherwise the schema itself. */
function toResponseSchema(schema: z.ZodType): JsonSchema {
  const name = nameOf(schema);
  if (name !== undefined) return { $ref: componentPrefix + name };
  return withoutSchemaKeywords(z.toJSONSchema(schema, { target: 'draft-2020-12', io: 'output' }));
}

function toOperation(operation: Operation, bodyNames: ReadonlyMap<z.ZodType, string>): OpenApiOperation {
  const responses: Record<string, OpenApiResponse> = {};
  for (const [status, schema] of Object.entries(operation.responses)) {
    const headers =
      operation.method === 'POST'
        ? { 'X-Request-Id': requestIdHeader, 'Idempotent-Replayed': replayedHeader }
        : { 'X-Request-Id': requestIdHeader };
    responses[status] = {
      description: status === '201' ? 'Created' : status === '202' ? 'Accepted' : 'OK',
      headers,
      // An event stream's schema is each event's data (text/event-stream: `event: balance`, `data: <json>`).
      content: {
        [operation.eventStream ? 'text/event-stream' : 'application/json']: { schema: toResponseSchema(schema) },
      },
    };
  }
  const described: OpenApiOperation = {
    operationId: operation.operationId,
    summary: operation.summary,
    tags: [operation.tag],
    parameters: toParameters(operation),
    responses: { ...responses, ...problemResponses },
    // Signed by its caller instead of an API key: no key scope, no bearer security.
    ...(operation.signature !== undefined
      ? { security: [] }
      : operation.principal === 'portal'
        ? { security: [{ portalBearer: [] }, { portalCookie: [] }] }
        : { 'x-bursar-scope': operation.scope }),
  };
  if (operation.body === undefined) return described;
  const bodyName = bodyNames.get(operation.body) ?? '';
  return {
    ...described,
    requestBody: { required: true, content: { 'application/json': { schema: { $ref: componentPrefix + bodyName } } } },
  };
}

/** Every lifecycle event (and the test event), as the POST a webhook endpoint receives. */
function toWebhooks(): Record<string, OpenApiWebhook> {
  const webhooks: Record<string, OpenApiWebhook> = {};
  for (const [type, payload] of [...Object.entries(eventPayloads), ['webhook.test', testEventPayload] as const]) {
    webhooks[type] = {
      post: {
        operationId: `receive${capitalize(type.replace(/[._]([a-z])/g, (_match, letter: string) => letter.toUpperCase()))}`,
        summary: `The ${type} event, signed per Standard Webhooks (webhook-id, webhook-timestamp, webhook-signature).`,
        tags: [webhookTag],
        requestBody: { required: true, content: { 'application/json': { schema: toResponseSchema(payload) } } },
        responses: {
          '2XX': { description: 'Received; any other answer is retried.' },
          '410': { description: 'Gone: the endpoint is disabled and the retries stop.' },
        },
      },
    };
  }
  return webhooks;
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

/** Every schema named with `.meta({ id })`, as output (what the server writes). */
function toOutputComponents(): Record<string, JsonSchema> {
  // The global registry holds every schema the contract named, the problem and each event payload
  // included, whether or not an operation refers to it.
  const { schemas } = z.toJSONSchema(z.globalRegistry, {
    target: 'draft-2020-12',
    io: 'output',
    uri: (id) => componentPrefix + id,
  });
  return Object.fromEntries(Object.entries(schemas).map(([name, schema]) => [name, withoutSchemaKeywords(schema)]));
}

/** Request bodies, as input (what a client sends), each named after the first operation that takes it. */
function toBodyComponents(operations: readonly Operation[]): {
  components: Record<string, JsonSchema>;
  names: Map<z.ZodType, string>;
} {
  const inputs = z.registry<{ id: string }>();
  const names = new Map<z.ZodType, string>();
  for (const operation of operations) {
    if (operation.body === undefined || names.has(operation.body)) continue;
    const name = `${capitalize(operation.operationId)}Body`;
    names.set(operation.body, name);
    inputs.add(operation.body, { id: name });
  }
  const { schemas } = z.toJSONSchema(inputs, {
    target: 'draft-2020-12',
    io: 'input',
    uri: (id) => componentPrefix + id,
    override: moveDefaultToDescription,
  });
  const components = Object.fromEntries(
    Object.entries(schemas).map(([name, schema]) => [name, withoutSchemaKeywords(schema)]),
  );
  return { components, names };
}

export function toOpenApiDocument(options: OpenApiOptions): OpenApiDocument {
  const operations = options.operations ?? operationList;
  const bodies = toBodyComponents(operations);
  const paths: Record<string, Record<string, OpenApiOperation>> = {};
  const tags: string[] = [];
  for (const operation of operations) {
    const methods = paths[operation.path] ?? {};
    methods[operation.method.toLowerCase()] = toOperation(operation, bodies.names);
    paths[operation.path] = methods;
    if (!tags.includes(operation.tag)) tags.push(operation.tag);
  }
  tags.push(systemTag, webhookTag);

  return {
    openapi: '3.1.0',
    info: { title: 'Bursar', version: options.version, description },
    servers: [{ url: options.serverUrl ?? '/' }],
    tags: tags.map((name) => ({ name })),
    security: [{ bearerAuth: [] }],
    paths: { ...paths, ...toSystemPaths() },
    webhooks: toWebhooks(),
    components: {
      schemas: { ...toOutputComponents(), ...bodies.components },
      securitySchemes: {
        bearerAuth: { type: 'http', scheme: 'bearer', description: 'An API key, `bk_live_…` or `bk_test_…`.' },
        portalBearer: {
          type: 'http',
          scheme: 'bearer',
          description: "A portal session's token, `bps_…` (createPortalSession): /v1/portal/ routes only.",
        },
        portalCookie: {
          type: 'apiKey',
          in: 'cookie',
          name: 'bursar_portal',
          description: 'The portal cookie set by the one-time URL; writes also need `x-csrf-token`.',
        },
      },
    },
  };
}
