/** The small pieces every screen shares: loading and error states, times, labelled fields, sections and the read hook. */
import { type InfiniteData, type UseQueryResult, useInfiniteQuery, useQuery } from '@tanstack/react-query';
import type { ReactNode } from 'react';
import { useId } from 'react';
import { ApiError, api, type Page, type Query } from './api.ts';

/** Reads one GET operation through TanStack Query; `null` waits (a dependent query). */
export function useApi<T>(target: string | null, query?: Query): UseQueryResult<T, Error> {
  return useQuery({
    queryKey: [target, query ?? {}],
    queryFn: () => api.get<T>(target ?? '', query),
    enabled: target !== null,
  });
}

/** Reads a list operation page by page (its `next_cursor`), for lists that outgrow one page: the ledger, the audit log, customers. */
export function usePagedApi<T>(target: string, query: Query) {
  return useInfiniteQuery({
    queryKey: [target, query, 'pages'],
    queryFn: ({ pageParam }) => api.get<Page<T>>(target, { ...query, cursor: pageParam }),
    initialPageParam: null as string | null,
    getNextPageParam: (last: Page<T>) => last.next_cursor,
    select: (data: InfiniteData<Page<T>, string | null>) => data.pages.flatMap((page) => page.data),
  });
}

/** The button that fetches a paged list's next page, while there is one. */
export function MoreButton({
  pages,
  label,
}: {
  readonly pages: { hasNextPage: boolean; isFetchingNextPage: boolean; fetchNextPage: () => unknown };
  readonly label: string;
}) {
  if (!pages.hasNextPage) return null;
  return (
    <div className="buttons">
      <button
        type="button"
        className="secondary"
        disabled={pages.isFetchingNextPage}
        onClick={() => pages.fetchNextPage()}
      >
        More {label}
      </button>
    </div>
  );
}

export function ErrorNotice({ error }: { readonly error: unknown }) {
  if (error === null || error === undefined) return null;
  const message = error instanceof Error ? error.message : String(error);
  return (
    <div role="alert" className="notice notice-error">
      <p>{message}</p>
      {error instanceof ApiError && error.fields.length > 0 && (
        <ul>
          {error.fields.map((field) => (
            <li key={field.path}>
              <code>{field.path || '(body)'}</code>: {field.message}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

/** Renders a query's data, or its loading or error state. */
/** What QueryView reads of a query: TanStack's plain and paged results both have it. */
interface QueryState<T> {
  readonly isPending: boolean;
  readonly isError: boolean;
  readonly fetchStatus: string;
  readonly error: Error | null;
  readonly data: T | undefined;
}

export function QueryView<T>({
  query,
  children,
  label,
}: {
  readonly query: QueryState<T>;
  readonly children: (data: T) => ReactNode;
  readonly label: string;
}) {
  if (query.isPending && query.fetchStatus !== 'idle') return <p className="muted">Loading {label}…</p>;
  if (query.isError) return <ErrorNotice error={query.error} />;
  if (query.data === undefined) return null;
  return <>{children(query.data)}</>;
}

/** An RFC 3339 time as the operator reads it, in UTC, with the exact value on hover. */
export function Time({ at }: { readonly at: string | null | undefined }) {
  if (at === null || at === undefined) return <span className="muted">—</span>;
  const date = new Date(at);
  const text = Number.isNaN(date.getTime()) ? at : `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
  return (
    <time dateTime={at} title={at}>
      {text}
    </time>
  );
}

/** The screen's one h1, and the document's title (React 19 hoists `<title>` into the head). */
export function PageHeading({ title, children }: { readonly title: string; readonly children?: ReactNode }) {
  return (
    <>
      <title>{`${title} · Bursar console`}</title>
      <h1>{children ?? title}</h1>
    </>
  );
}

export function Section({
  title,
  children,
  actions,
}: {
  readonly title: string;
  readonly children: ReactNode;
  readonly actions?: ReactNode;
}) {
  const id = useId();
  return (
    <section aria-labelledby={id} className="card">
      <div className="card-head">
        <h2 id={id}>{title}</h2>
        {actions}
      </div>
      {children}
    </section>
  );
}

export function Field({
  label,
  children,
  hint,
}: {
  readonly label: string;
  readonly children: (id: string) => ReactNode;
  readonly hint?: string;
}) {
  const id = useId();
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      {children(id)}
      {hint !== undefined && <small className="muted">{hint}</small>}
    </div>
  );
}

export function Empty({ children }: { readonly children: ReactNode }) {
  return <p className="muted empty">{children}</p>;
}

/** A `datetime-local` input's value (local wall time) as an RFC 3339 instant; empty stays undefined. */
export function localToInstant(value: string): string | undefined {
  if (value === '') return undefined;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

/** Comma- or space-separated words, trimmed, empty ones dropped. */
export function words(text: string): string[] {
  return text
    .split(/[\s,]+/)
    .map((word) => word.trim())
    .filter((word) => word !== '');
}

/**
 * A table of rows under one header row: its caption (hidden unless `captionShown`, for screen readers),
 * its column labels (a `false` label is a column left out), and, with `scroll`, a box that scrolls wide tables.
 */
export function DataTable({
  testId,
  caption,
  captionShown = false,
  scroll = false,
  columns,
  children,
}: {
  readonly testId?: string;
  readonly caption: ReactNode;
  readonly captionShown?: boolean;
  readonly scroll?: boolean;
  readonly columns: readonly (string | false)[];
  readonly children: ReactNode;
}) {
  const table = (
    <table data-testid={testId}>
      <caption className={captionShown ? undefined : 'visually-hidden'}>{caption}</caption>
      <thead>
        <tr>
          {columns.map((label) =>
            label === false ? null : (
              <th scope="col" key={label}>
                {label}
              </th>
            ),
          )}
        </tr>
      </thead>
      <tbody>{children}</tbody>
    </table>
  );
  return scroll ? <div className="scroll">{table}</div> : table;
}
