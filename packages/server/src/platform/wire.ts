/** Wire formats every domain shares: times as RFC 3339 text, and nullable text columns. */
export function toTimestamp(milliseconds: number): string;
export function toTimestamp(milliseconds: number | null): string | null;
export function toTimestamp(milliseconds: number | null): string | null {
  return milliseconds === null ? null : new Date(milliseconds).toISOString();
}

export function nullableText(value: unknown): string | null {
  return value === null || value === undefined ? null : String(value);
}
