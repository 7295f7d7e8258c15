/**
 * `bursar verify`: checks a whole database offline — every environment's audit chain (keyed, and
 * against an exported head when given) and the ledger invariants of SPEC §5 items 1–4 and 7 —
 * a page at a time, and names the first violation. The checks are pure functions over loaded
 * rows; this file's shell only pages through the tables.
 */

import type { ExportedChainHead } from '../../platform/commit/audit-chain.ts';
import { verifyAuditChain } from '../../platform/commit/audit-chain.ts';
import { ownedIdTables } from '../../platform/commit/id-owners.ts';
import { toBigint } from '../../platform/storage/codecs.ts';
import type { SqlRow, SqlSession, SqlValue } from '../../platform/storage/database.ts';
import { isAnyOf, queryBuilder } from '../../platform/storage/kysely.ts';
import type { TableName, TableRow } from '../../platform/storage/schema.ts';
import { quote, tables } from '../../platform/storage/schema.ts';

/** The first thing found wrong: which invariant, which row, what was expected and what was found. */
export interface Violation {
  readonly invariant: string;
  readonly table: string;
  readonly row: string;
  readonly expected: string;
  readonly found: string;
}

export interface DatabaseVerification {
  readonly valid: boolean;
  readonly violation: Violation | null;
  /** Rows read per table, for the summary. */
  readonly rowsChecked: Readonly<Record<string, number>>;
}

export interface VerifyOptions {
  readonly auditKey: Buffer;
  /** Chain heads from an exported head (`bursar audit-head`), already signature-checked. */
  readonly exportedHeads?: readonly ExportedChainHead[];
  /** Rows per page (tests shrink it to cross page boundaries). */
  readonly pageRows?: number;
  /** Called after every page with the table and the rows read from it so far. */
  readonly onProgress?: (table: string, rowsChecked: number) => void;
}

const defaultPageRows = 1000;

export async function verifyDatabase(session: SqlSession, options: VerifyOptions): Promise<DatabaseVerification> {
  const rowsChecked: Record<string, number> = {};
  const count = (table: string, rows: number) => {
    rowsChecked[table] = (rowsChecked[table] ?? 0) + rows;
    options.onProgress?.(table, rowsChecked[table]);
  };
  const pageRows = options.pageRows ?? defaultPageRows;
  const steps: (() => Promise<Violation | null>)[] = [
    async () => decideTriggers(session.dialect, await presentTriggers(session)),
    () => verifyAuditChains(session, options, pageRows, count),
    () => verifyEntries(session, pageRows, count),
    () => verifyWallets(session, pageRows, count),
    () => verifyHolds(session, pageRows, count),
    () => verifyReversals(session),
    () => verifyIdOwners(session),
  ];
  for (const step of steps) {
    const violation = await step();
    if (violation !== null) return { valid: false, violation, rowsChecked };
  }
  return { valid: true, violation: null, rowsChecked };
}

/** Rows of `table` in primary-key order, one page per yield (keyset paging: no offset scans). */
async function* pagesOf<Table extends TableName>(
  session: SqlSession,
  table: Table,
  pageRows: number,
): AsyncGenerator<TableRow<Table>[]> {
  const keyColumns: readonly string[] = tables[table].primaryKey;
  const keys = keyColumns.map(quote).join(', ');
  let after: SqlValue[] | null = null;
  for (;;) {
    const where = after === null ? '' : ` WHERE (${keys}) > (${keyColumns.map(() => '?').join(', ')})`;
    const rows = await session.all(`SELECT * FROM ${table}${where} ORDER BY ${keys} LIMIT ${pageRows}`, after ?? []);
    // `SELECT *` of one table: the drivers return its columns as the schema types them.
    if (rows.length > 0) yield rows as TableRow<Table>[];
    if (rows.length < pageRows) return;
    const last = rows[rows.length - 1] as SqlRow;
    after = keyColumns.map((column) => last[column] ?? null);
  }
}

// ---- 7: append-only triggers ----

async function presentTriggers(session: SqlSession): Promise<Set<string>> {
  const rows =
    session.dialect === 'sqlite'
      ? await session.all("SELECT name FROM sqlite_master WHERE type = 'trigger'")
      : await session.all(
          `SELECT t.tgname AS name FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
           JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = current_schema() AND NOT t.tgisinternal AND t.tgenabled <> 'D'`,
        );
  return new Set(rows.map((row) => String(row.name)));
}

/** Every append-only table keeps its triggers (SQLite: one per operation; PostgreSQL: one, enabled). */
function decideTriggers(dialect: 'sqlite' | 'postgres', present: ReadonlySet<string>): Violation | null {
  for (const [table, spec] of Object.entries(tables)) {
    if (!('appendOnly' in spec) || spec.appendOnly !== true) continue;
    // The names schemaStatements gives them.
    const expected = dialect === 'postgres' ? [`${table}_append_only`] : [`${table}_no_update`, `${table}_no_delete`];
    for (const name of expected) {
      if (!present.has(name)) {
        return {
          invariant: '7: ledger, entries and audit log are append-only',
          table,
          row: `trigger ${name}`,
          expected: `trigger ${name} rejecting ${dialect === 'postgres' ? 'UPDATE and DELETE' : name.endsWith('delete') ? 'DELETE' : 'UPDATE'}`,
          found: 'missing or disabled',
        };
      }
    }
  }
  return null;
}

// ---- audit chains ----

async function verifyAuditChains(
  session: SqlSession,
  options: VerifyOptions,
  pageRows: number,
  count: (table: string, rows: number) => void,
): Promise<Violation | null> {
  const environments = await queryBuilder(session).selectFrom('environments').select('id').orderBy('id').execute();
  const known = new Set(environments.map((row) => row.id));
  for (const head of options.exportedHeads ?? []) {
    if (!known.has(head.environmentId)) {
      return {
        invariant: 'audit chain against the exported head',
        table: 'environments',
        row: head.environmentId,
        expected: `an environment whose chain reaches seq ${head.seq}`,
        found: 'no such environment',
      };
    }
  }
  for (const { id: environmentId } of environments) {
    const exported = options.exportedHeads?.find((head) => head.environmentId === environmentId);
    const result = await verifyAuditChain(session, environmentId, options.auditKey, {
      ...(exported === undefined ? {} : { exported }),
      pageRows,
      onRows: (rows) => count('audit_events', rows),
    });
    if (!result.valid) {
      return {
        invariant: '7: the audit log is append-only (keyed hash chain)',
        table: 'audit_events',
        row: `${environmentId}/${result.brokenAtSeq}`,
        expected: 'an unbroken keyed chain up to the head',
        found: String(result.problem),
      };
    }
  }
  count('environments', environments.length);
  return null;
}

// ---- 1: entries sum to zero per transaction and per environment ----

async function verifyEntries(
  session: SqlSession,
  pageRows: number,
  count: (table: string, rows: number) => void,
): Promise<Violation | null> {
  const environmentTotals = new Map<string, bigint>();
  let current = null as { key: string; sums: Map<string, bigint> } | null;
  for await (const page of pagesOf(session, 'entries', pageRows)) {
    for (const entry of page) {
      const key = `${entry.environment_id}/${entry.transaction_id}`;
      if (current?.key !== key) {
        const violation = current === null ? null : decideTransactionSums(current.key, current.sums);
        if (violation !== null) return violation;
        current = { key, sums: new Map() };
      }
      const { asset, amount } = entry;
      current.sums.set(asset, (current.sums.get(asset) ?? 0n) + amount);
      const totalKey = `${entry.environment_id}/${asset}`;
      environmentTotals.set(totalKey, (environmentTotals.get(totalKey) ?? 0n) + amount);
    }
    count('entries', page.length);
  }
  const violation = current === null ? null : decideTransactionSums(current.key, current.sums);
  if (violation !== null) return violation;
  for (const [key, total] of environmentTotals) {
    if (total !== 0n) {
      return {
        invariant: "1: an environment's entries sum to zero per asset",
        table: 'entries',
        row: key,
        expected: '0',
        found: total.toString(),
      };
    }
  }
  return null;
}

function decideTransactionSums(transaction: string, sums: ReadonlyMap<string, bigint>): Violation | null {
  for (const [asset, sum] of sums) {
    if (sum !== 0n) {
      return {
        invariant: "1: a transaction's entries sum to zero per asset",
        table: 'entries',
        row: `${transaction} (${asset})`,
        expected: '0',
        found: sum.toString(),
      };
    }
  }
  return null;
}

// ---- 2, 3, 4: wallets against their entries, grants and holds ----

interface WalletFacts {
  readonly wallet: TableRow<'wallets'>;
  /** id, remaining, reserved of each of the wallet's grants. */
  readonly grants: readonly Pick<TableRow<'grants'>, 'id' | 'remaining' | 'reserved'>[];
  /** Σ entries per account and grant: `grant:<id>` and `debt`. */
  readonly entrySums: ReadonlyMap<string, bigint>;
  /** Σ reservations of open holds per grant id; `debt` for overdraft reservations. */
  readonly openReservations: ReadonlyMap<string, bigint>;
}

/** Invariants 2 (balance = Σ entries = Σ remaining − debt), 4 (held = open holds) and 3 (the floor). */
function decideWallet(facts: WalletFacts): Violation | null {
  const { wallet } = facts;
  const walletId = `${wallet.environment_id}/${wallet.customer_id}/${wallet.asset}`;
  const violation = (invariant: string, table: string, row: string, expected: bigint, found: bigint): Violation => ({
    invariant,
    table,
    row,
    expected: expected.toString(),
    found: found.toString(),
  });
  let remainingTotal = 0n;
  let reservedTotal = 0n;
  const grantIds = new Set<string>();
  for (const { id, remaining, reserved } of facts.grants) {
    grantIds.add(id);
    const entered = facts.entrySums.get(`grant:${id}`) ?? 0n;
    if (remaining !== entered) {
      return violation(
        "2: a grant's remaining equals the sum of its entries",
        'grants',
        `${wallet.environment_id}/${id}`,
        entered,
        remaining,
      );
    }
    const held = facts.openReservations.get(id) ?? 0n;
    if (reserved !== held) {
      return violation(
        "4: a grant's reserved equals its open holds' reservations",
        'grants',
        `${wallet.environment_id}/${id}`,
        held,
        reserved,
      );
    }
    remainingTotal += remaining;
    reservedTotal += reserved;
  }
  for (const [key, sum] of facts.entrySums) {
    if (key.startsWith('grant:') && !grantIds.has(key.slice('grant:'.length)) && sum !== 0n) {
      return violation('2: grant entries belong to a grant of the wallet', 'entries', `${walletId} ${key}`, 0n, sum);
    }
  }
  const { debt, balance } = wallet;
  const debtEntered = -(facts.entrySums.get('debt') ?? 0n);
  if (debt !== debtEntered)
    return violation('2: debt equals the sum of its entries', 'wallets', walletId, debtEntered, debt);
  const entered = remainingTotal - debt;
  if (balance !== entered) {
    return violation(
      "2: a wallet's balance equals the sum of its entries and of its grants' remaining",
      'wallets',
      walletId,
      entered,
      balance,
    );
  }
  const debtReserved = wallet.debt_reserved;
  const debtHeld = facts.openReservations.get('debt') ?? 0n;
  if (debtReserved !== debtHeld) {
    return violation(
      "4: debt_reserved equals open holds' overdraft reservations",
      'wallets',
      walletId,
      debtHeld,
      debtReserved,
    );
  }
  const held = reservedTotal + debtReserved;
  const floor = -wallet.overdraft_limit;
  if (balance - held < floor) {
    return {
      invariant: '3: balance − held ≥ −overdraft_limit',
      table: 'wallets',
      row: walletId,
      expected: `balance − held ≥ ${floor}`,
      found: `balance ${balance} − held ${held} = ${balance - held}`,
    };
  }
  return null;
}

async function verifyWallets(
  session: SqlSession,
  pageRows: number,
  count: (table: string, rows: number) => void,
): Promise<Violation | null> {
  const db = queryBuilder(session);
  for await (const page of pagesOf(session, 'wallets', pageRows)) {
    for (const wallet of page) {
      const grants = await db
        .selectFrom('grants')
        .select(['id', 'remaining', 'reserved'])
        .where('environment_id', '=', wallet.environment_id)
        .where('customer_id', '=', wallet.customer_id)
        .where('asset', '=', wallet.asset)
        .execute();
      // Through transactions: entries carry no index by customer, transactions do.
      const sums = await db
        .selectFrom('transactions as t')
        .innerJoin('entries as e', (join) =>
          join.onRef('e.environment_id', '=', 't.environment_id').onRef('e.transaction_id', '=', 't.id'),
        )
        .select((entry) => ['e.account', 'e.grant_id', entry.fn.sum('e.amount').as('total')])
        .where('t.environment_id', '=', wallet.environment_id)
        .where('t.customer_id', '=', wallet.customer_id)
        .where('t.asset', '=', wallet.asset)
        .where('e.account', 'in', ['grant', 'debt'])
        .groupBy(['e.account', 'e.grant_id'])
        .execute();
      const reservations = await db
        .selectFrom('hold_reservations as r')
        .innerJoin('holds as h', (join) =>
          join.onRef('h.environment_id', '=', 'r.environment_id').onRef('h.id', '=', 'r.hold_id'),
        )
        .select((reservation) => ['r.grant_id', reservation.fn.sum('r.amount').as('total')])
        .where('h.environment_id', '=', wallet.environment_id)
        .where('h.customer_id', '=', wallet.customer_id)
        .where('h.asset', '=', wallet.asset)
        .where('h.status', '=', 'open')
        .groupBy('r.grant_id')
        .execute();
      // Sums are bigints on SQLite and exact numeric text on PostgreSQL.
      const violation = decideWallet({
        wallet,
        grants,
        entrySums: new Map(
          sums.map((row) => [row.account === 'debt' ? 'debt' : `grant:${row.grant_id}`, toBigint(row.total)]),
        ),
        openReservations: new Map(reservations.map((row) => [row.grant_id ?? 'debt', toBigint(row.total)])),
      });
      if (violation !== null) return violation;
    }
    count('wallets', page.length);
  }
  return null;
}

// ---- 4: each hold ends at most once; captures ----

const endingKinds: Readonly<Record<string, string>> = {
  captured: 'capture',
  released: 'release',
  expired: 'hold_expire',
};

/** A hold's status, its ending transactions and its reservations agree. */
function decideHold(
  hold: TableRow<'holds'>,
  endings: readonly Pick<TableRow<'transactions'>, 'id' | 'kind' | 'amount'>[],
  reserved: bigint,
): Violation | null {
  const row = `${hold.environment_id}/${hold.id}`;
  const { status, captured } = hold;
  if (endings.length > 1) {
    return {
      invariant: '4: a hold ends exactly once',
      table: 'transactions',
      row,
      expected: 'at most one capture, release or expiry',
      found: endings.map((ending) => `${ending.kind} ${ending.id}`).join(', '),
    };
  }
  const [ending] = endings;
  const expectedKind = endingKinds[status];
  if (status === 'open' ? ending !== undefined : ending?.kind !== expectedKind) {
    return {
      invariant: '4: a hold ends exactly once',
      table: 'holds',
      row,
      expected: status === 'open' ? 'no ending transaction for an open hold' : `one ${expectedKind} transaction`,
      found: ending === undefined ? 'none' : `${ending.kind} ${ending.id}`,
    };
  }
  const capturedByLedger = ending?.kind === 'capture' ? ending.amount : 0n;
  if (captured !== capturedByLedger) {
    return {
      invariant: '4: a capture never exceeds what it may',
      table: 'holds',
      row,
      expected: `captured ${capturedByLedger} (the capture transaction's amount)`,
      found: `captured ${captured}`,
    };
  }
  const { amount } = hold;
  if (reserved !== amount) {
    return {
      invariant: "4: held amounts equal the holds' reservations",
      table: 'hold_reservations',
      row,
      expected: amount.toString(),
      found: reserved.toString(),
    };
  }
  return null;
}

async function verifyHolds(
  session: SqlSession,
  pageRows: number,
  count: (table: string, rows: number) => void,
): Promise<Violation | null> {
  const db = queryBuilder(session);
  for await (const page of pagesOf(session, 'holds', pageRows)) {
    const byEnvironment = groupRows(page, 'environment_id');
    for (const [environmentId, holds] of byEnvironment) {
      const ids = holds.map((hold) => hold.id);
      const endings = groupRows(
        await db
          .selectFrom('transactions')
          .select(['id', 'hold_id', 'kind', 'amount'])
          .where('environment_id', '=', environmentId)
          .where(isAnyOf(session.dialect, 'hold_id', ids))
          .where('kind', 'in', ['capture', 'release', 'hold_expire'])
          .orderBy('id')
          .execute(),
        'hold_id',
      );
      const reservations = await db
        .selectFrom('hold_reservations')
        .select((reservation) => ['hold_id', reservation.fn.sum('amount').as('total')])
        .where('environment_id', '=', environmentId)
        .where(isAnyOf(session.dialect, 'customer_id', [...new Set(holds.map((hold) => hold.customer_id))]))
        .where(isAnyOf(session.dialect, 'hold_id', ids))
        .groupBy('hold_id')
        .execute();
      // A sum is a bigint on SQLite and exact numeric text on PostgreSQL.
      const reserved = new Map(reservations.map((row) => [row.hold_id, toBigint(row.total)]));
      for (const hold of holds) {
        const { id } = hold;
        const violation = decideHold(hold, endings.get(id) ?? [], reserved.get(id) ?? 0n);
        if (violation !== null) return violation;
      }
    }
    count('holds', page.length);
  }
  return null;
}

function groupRows<Row extends SqlRow, Column extends keyof Row & string>(
  rows: readonly Row[],
  column: Column,
): Map<string, Row[]> {
  const groups = new Map<string, Row[]>();
  for (const row of rows) {
    const key = String(row[column]);
    const group = groups.get(key);
    if (group === undefined) groups.set(key, [row]);
    else group.push(row);
  }
  return groups;
}

// ---- 7: a transaction is reversed at most once in total ----

async function verifyReversals(session: SqlSession): Promise<Violation | null> {
  // The same sum the reversal command takes under the wallet lock, over every reversed transaction.
  const [over] = await session.all(
    `SELECT r.environment_id, r.reverses_id, SUM(r.amount) AS reversed, MAX(o.amount) AS original
       FROM transactions r LEFT JOIN transactions o
         ON o.environment_id = r.environment_id AND o.customer_id = r.customer_id AND o.id = r.reverses_id
     WHERE r.reverses_id IS NOT NULL
     GROUP BY r.environment_id, r.reverses_id
     HAVING MAX(o.amount) IS NULL OR SUM(r.amount) > MAX(o.amount)
     ORDER BY r.environment_id, r.reverses_id LIMIT 1`,
  );
  if (over === undefined) return null;
  return {
    invariant: '7: a transaction is reversed at most once in total',
    table: 'transactions',
    row: `${over.environment_id}/${over.reverses_id}`,
    expected: over.original === null ? 'the reversed transaction exists' : `reversals totalling ≤ ${over.original}`,
    found: over.original === null ? 'no such transaction' : `reversals totalling ${over.reversed}`,
  };
}

// ---- the id directory: every id a route takes alone names its row's customer ----

async function verifyIdOwners(session: SqlSession): Promise<Violation | null> {
  for (const table of ownedIdTables) {
    const [missing] = await session.all(
      `SELECT t.environment_id, t.id, t.customer_id, o.customer_id AS owner
         FROM ${table} t LEFT JOIN id_owners o ON o.environment_id = t.environment_id AND o.id = t.id
       WHERE o.customer_id IS NULL OR o.customer_id <> t.customer_id
       ORDER BY t.environment_id, t.id LIMIT 1`,
    );
    if (missing === undefined) continue;
    return {
      invariant: `the id directory names the customer of every ${table} id (docs/distribution.md)`,
      table: 'id_owners',
      row: `${missing.environment_id}/${missing.id}`,
      expected: String(missing.customer_id),
      found: missing.owner === null ? 'no row' : String(missing.owner),
    };
  }
  return null;
}
