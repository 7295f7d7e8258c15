/** The server package's public surface, for embedding Bursar in another Node process or a test. */
export type { RunningServer } from './app.ts';
export { startServer } from './app.ts';
export type { Config, ConfigResult } from './config.ts';
export { parseConfig } from './config.ts';
