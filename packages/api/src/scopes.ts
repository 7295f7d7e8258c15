/** The scopes an API key can hold, as they appear on the wire. */

/**
 * Widest first; each includes the ones after it. `owner` manages environments (the deployment's
 * tenants) and is held only by the bootstrap key and the keys an owner mints.
 */
export const scopes = ['owner', 'admin', 'write', 'ingest', 'read'] as const;
export type Scope = (typeof scopes)[number];
