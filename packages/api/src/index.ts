/**
 * @bursar/api: Bursar's wire contract. The zod schemas of every request body, query, path parameter
 * and response, the field rules they share, the problems and lifecycle event payloads, the limits,
 * the API key scopes, every operation as data, and the OpenAPI document generated from them. The
 * server, and later the SDK, the MCP server and the web apps, take their shapes from here.
 */
export * from './events.ts';
export * from './fields.ts';
export * from './finance.ts';
export * from './limits.ts';
export * from './openapi.ts';
export * from './operations/index.ts';
export * from './payments.ts';
export * from './plans.ts';
export * from './portal.ts';
export * from './pricing.ts';
export * from './problems.ts';
export * from './schemas.ts';
export * from './scopes.ts';
export * from './top-ups.ts';
