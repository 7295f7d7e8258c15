/**
 * @bursar/api: Bursar's wire contract. The zod schemas of every request body, query, path parameter
 * and response, the field rules they share, and the API key scopes. The server, and later the SDK,
 * the MCP server and the web apps, take their shapes from here.
 */
export * from './fields.ts';
export * from './plans.ts';
export * from './pricing.ts';
export * from './schemas.ts';
export * from './scopes.ts';
export * from './top-ups.ts';
