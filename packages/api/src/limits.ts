/**
 * The wire's size limits: how many items a page, a batch or a simulation may hold, and how large a
 * body may be by default. Clients read them from here rather than from the server's code.
 */

/** A list's page size when the query gives no `limit`. */
export const pageLimitDefault = 50;
/** The largest `limit` a list accepts. */
export const pageLimitMax = 200;
/** The most events one `ingestEvents` request may carry. */
export const eventsPerRequestMax = 1000;
/** The most stored events one `simulatePricing` replays. */
export const simulationEventsMax = 200_000;
/** The most stored events one `getUsage` sums; a larger range must be split. */
export const usageEventsMax = 500_000;
/** A request body's size limit in bytes unless the server is configured otherwise (`BURSAR_BODY_BYTES_MAX`). */
export const bodyBytesDefault = 1024 * 1024;
/** The longest a hold may live, in seconds. */
export const holdTtlSecondsMax = 86_400;
