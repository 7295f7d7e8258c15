/**
 * Plans as data: creating a plan with its first version, publishing later versions (append-only,
 * so a subscription's version never changes under it), and reading them. A version's wire body is
 * checked against the environment's assets, features and price books, then stored normalized.
 */

import type { CreatePlanBody, PlanVersionBody } from '@bursar/api';
import type { Cadence, Entitlement, PlanRef, PlanVersion, RolloverRule } from '@bursar/core';
import { formatAmount } from '@bursar/core';
import { auditOf } from '../../platform/commit/audit-chain.ts';
import type { Caller, FieldError, Reply } from '../../platform/contract.ts';
import type { AssetInfo, LedgerService } from '../../platform/service.ts';
import { fieldReply, isFieldError, okReply, parseWireAmount, problemReply } from '../../platform/service.ts';
import { toDecimal, toTime } from '../../platform/storage/codecs.ts';
import type { SqlSession } from '../../platform/storage/database.ts';
import { queryBuilder } from '../../platform/storage/kysely.ts';
import type { PageQuery } from '../../platform/storage/paging.ts';
import { childRowsOf, keyset, readPage, textColumn } from '../../platform/storage/paging.ts';
import type { TableRow } from '../../platform/storage/schema.ts';
import { toTimestamp } from '../../platform/wire.ts';

type PlanRow = TableRow<'plans'>;
type PlanVersionRow = TableRow<'plan_versions'>;

/** A plan version as stored: its normalized wire body, and the core's reading of it. */
export interface StoredPlanVersion {
  readonly definition: PlanVersionBody;
  readonly plan: PlanVersion;
  /** Every asset the version grants in: the wallets a subscription decision on it touches. */
  readonly assets: readonly string[];
}

const threeDays: Cadence = { interval: 'day', count: 3 };

function toCadence(wire: { interval: Cadence['interval']; count?: number | undefined }): Cadence {
  return { interval: wire.interval, count: wire.count ?? 1 };
}

/** Checks a version body against the environment and normalizes its amounts, or names every bad field. */
export async function parsePlanVersion(
  service: LedgerService,
  caller: Caller,
  planId: string,
  version: number,
  body: PlanVersionBody,
  fieldPrefix: string,
): Promise<StoredPlanVersion | FieldError[]> {
  const errors: FieldError[] = [];
  const scales = new Map<string, AssetInfo>();
  /** Normalizes `item`'s amount field `name` in its asset's scale; an unknown asset is named once, at `item.asset`. */
  const amount = async (item: string, asset: string, text: string, name = 'amount'): Promise<string> => {
    let info = scales.get(asset);
    if (info === undefined) {
      info = await service.asset(caller.environmentId, asset);
      if (info === undefined) {
        const field = `${item}.asset`;
        if (!errors.some((error) => error.field === field))
          errors.push({ field, message: `no asset "${asset}" in this environment` });
        return text;
      }
      scales.set(asset, info);
    }
    const units = parseWireAmount(text, info.scale, `${item}.${name}`, { positive: true });
    if (!isFieldError(units)) return formatAmount(units, info.scale);
    errors.push(units);
    return text;
  };
  const p = fieldPrefix;
  const allowances = [];
  for (const [index, allowance] of (body.allowances ?? []).entries()) {
    const rollover = allowance.rollover;
    allowances.push({
      ...allowance,
      amount: await amount(`${p}allowances[${index}]`, allowance.asset, allowance.amount),
      ...(rollover?.amount_max === undefined
        ? {}
        : {
            rollover: {
              ...rollover,
              amount_max: await amount(
                `${p}allowances[${index}]`,
                allowance.asset,
                rollover.amount_max,
                'rollover.amount_max',
              ),
            },
          }),
    });
  }
  const oneTimeGrants = [];
  for (const [index, grant] of (body.one_time_grants ?? []).entries())
    oneTimeGrants.push({
      ...grant,
      amount: await amount(`${p}one_time_grants[${index}]`, grant.asset, grant.amount),
    });
  let trial = body.trial ?? null;
  if (trial !== null) {
    const grants = [];
    for (const [index, grant] of (trial.grants ?? []).entries())
      grants.push({ ...grant, amount: await amount(`${p}trial.grants[${index}]`, grant.asset, grant.amount) });
    trial = { ...trial, grants };
  }
  await checkCatalogReferences(service, caller, body, p, errors);
  if (errors.length > 0) return errors;
  const definition: PlanVersionBody = {
    ...body,
    allowances,
    one_time_grants: oneTimeGrants,
    trial,
    entitlements: body.entitlements ?? [],
    price_overrides: body.price_overrides ?? [],
  };
  return toStoredPlanVersion(planId, version, definition, scales);
}

/** Metered entitlements need a feature with a meter; price overrides need the feature and the book. */
async function checkCatalogReferences(
  service: LedgerService,
  caller: Caller,
  body: PlanVersionBody,
  p: string,
  errors: FieldError[],
): Promise<void> {
  const db = queryBuilder(service.database.reader);
  const featureExists = async (feature: string) =>
    (await db
      .selectFrom('features')
      .select('key')
      .where('environment_id', '=', caller.environmentId)
      .where('key', '=', feature)
      .executeTakeFirst()) !== undefined;
  for (const [index, entitlement] of (body.entitlements ?? []).entries()) {
    if (entitlement.kind === 'metered' && !(await featureExists(entitlement.feature)))
      errors.push({
        field: `${p}entitlements[${index}].feature`,
        message: `no feature "${entitlement.feature}" to meter`,
      });
  }
  for (const [index, override] of (body.price_overrides ?? []).entries()) {
    if (!(await featureExists(override.feature)))
      errors.push({ field: `${p}price_overrides[${index}].feature`, message: `no feature "${override.feature}"` });
    const book = await db
      .selectFrom('price_books')
      .select('key')
      .where('environment_id', '=', caller.environmentId)
      .where('key', '=', override.price_book)
      .executeTakeFirst();
    if (book === undefined)
      errors.push({
        field: `${p}price_overrides[${index}].price_book`,
        message: `no price book "${override.price_book}"`,
      });
  }
}

/** Reads a stored (already checked) definition into the core's PlanVersion. */
function toStoredPlanVersion(
  planId: string,
  version: number,
  definition: PlanVersionBody,
  scales: ReadonlyMap<string, AssetInfo>,
): StoredPlanVersion {
  const units = (asset: string, text: string): bigint => {
    const info = scales.get(asset);
    const parsed = info === undefined ? undefined : parseWireAmount(text, info.scale, 'amount');
    if (parsed === undefined || isFieldError(parsed)) throw new Error(`assertion failed: stored plan amount ${text}`);
    return parsed;
  };
  const period = toCadence(definition.period);
  const plan: PlanVersion = {
    planId,
    version,
    period,
    allowances: (definition.allowances ?? []).map((allowance) => ({
      asset: allowance.asset,
      amount: units(allowance.asset, allowance.amount),
      cadence: allowance.cadence === undefined ? period : toCadence(allowance.cadence),
      rollover: toRolloverRule(allowance.rollover, (text) => units(allowance.asset, text)),
      priority: allowance.priority ?? 0,
      features: allowance.features ?? null,
    })),
    oneTimeGrants: (definition.one_time_grants ?? []).map((grant) => ({
      asset: grant.asset,
      amount: units(grant.asset, grant.amount),
      category: grant.category ?? 'plan',
      expiresAfter: grant.expires_after == null ? null : toCadence(grant.expires_after),
      priority: grant.priority ?? 0,
      features: grant.features ?? null,
    })),
    trial:
      definition.trial == null
        ? null
        : {
            duration: toCadence(definition.trial.duration),
            grants: (definition.trial.grants ?? []).map((grant) => ({
              asset: grant.asset,
              amount: units(grant.asset, grant.amount),
            })),
            onEnd: definition.trial.on_end ?? 'convert',
            noticeBefore:
              definition.trial.notice_before === undefined ? threeDays : toCadence(definition.trial.notice_before),
          },
    entitlements: (definition.entitlements ?? []).map((entitlement) => toEntitlement(entitlement, period)),
    priceOverrides: (definition.price_overrides ?? []).map((override) => ({
      feature: override.feature,
      priceBook: override.price_book,
    })),
  };
  const assets = new Set([
    ...plan.allowances.map((allowance) => allowance.asset),
    ...plan.oneTimeGrants.map((grant) => grant.asset),
    ...(plan.trial?.grants ?? []).map((grant) => grant.asset),
  ]);
  return { definition, plan, assets: [...assets].sort() };
}

type WireRollover = NonNullable<NonNullable<PlanVersionBody['allowances']>[number]['rollover']>;

function toRolloverRule(rule: WireRollover | undefined, units: (text: string) => bigint): RolloverRule {
  if (rule === undefined || rule.kind === 'none') return { kind: 'none' };
  const expiresAfter = rule.expires_after == null ? null : toCadence(rule.expires_after);
  if (rule.kind === 'all') return { kind: 'all', expiresAfter };
  if (rule.kind === 'amount') return { kind: 'amount', amountMax: units(rule.amount_max ?? ''), expiresAfter };
  return { kind: 'percent', percent: toDecimal(rule.percent ?? '0'), expiresAfter };
}

function toEntitlement(wire: NonNullable<PlanVersionBody['entitlements']>[number], period: Cadence): Entitlement {
  if (wire.kind === 'boolean') return { feature: wire.feature, kind: 'boolean', enabled: wire.enabled };
  if (wire.kind === 'limit') return { feature: wire.feature, kind: 'limit', limit: toDecimal(wire.limit) };
  return {
    feature: wire.feature,
    kind: 'metered',
    limit: toDecimal(wire.limit),
    cadence: wire.cadence === undefined ? period : toCadence(wire.cadence),
    quantity: wire.quantity ?? null,
  };
}

/** Loads one plan version (the latest when `version` is null), or null when there is none. */
export async function loadPlanVersion(
  service: LedgerService,
  session: SqlSession,
  environmentId: string,
  planId: string,
  version: number | null,
): Promise<StoredPlanVersion | null> {
  const row = await queryBuilder(session)
    .selectFrom('plan_versions')
    .selectAll()
    .where('environment_id', '=', environmentId)
    .where('plan_id', '=', planId)
    .$if(version !== null, (query) => query.where('version', '=', BigInt(version ?? 0)))
    .orderBy('version', 'desc')
    .limit(1)
    .executeTakeFirst();
  if (row === undefined) return null;
  const definition = JSON.parse(row.definition) as PlanVersionBody;
  const scales = new Map<string, AssetInfo>();
  for (const asset of assetsOf(definition)) {
    const info = await service.asset(environmentId, asset);
    if (info === undefined) throw new Error(`assertion failed: plan asset ${asset} exists`);
    scales.set(asset, info);
  }
  return toStoredPlanVersion(planId, Number(row.version), definition, scales);
}

function assetsOf(definition: PlanVersionBody): string[] {
  return [
    ...(definition.allowances ?? []).map((allowance) => allowance.asset),
    ...(definition.one_time_grants ?? []).map((grant) => grant.asset),
    ...(definition.trial?.grants ?? []).map((grant) => grant.asset),
  ];
}

export function planRefText(ref: PlanRef): string {
  return `${ref.planId}@${ref.version}`;
}

// ----- operations ------------------------------------------------------------------------------

export async function createPlan(service: LedgerService, caller: Caller, input: CreatePlanBody): Promise<Reply> {
  const parsed = await parsePlanVersion(service, caller, input.id, 1, input.version, 'version.');
  if (!('plan' in parsed)) return fieldReply(caller, parsed);
  return service.submit(caller, 'createPlan', input, {
    kind: 'task',
    async run(writer) {
      const row: PlanRow = {
        environment_id: caller.environmentId,
        id: input.id,
        name: input.name ?? null,
        latest_version: 1n,
        created_at: BigInt(writer.now),
      };
      const inserted = await writer.session.insertMany('plans', [row], { onConflictDoNothing: true });
      if (inserted.length === 0) {
        return problemReply(caller, 'plan_exists', `A plan "${input.id}" exists in this environment.`);
      }
      const versionRow = planVersionRow(caller.environmentId, input.id, 1, parsed.definition, writer.now);
      await writer.session.insertMany('plan_versions', [versionRow]);
      const body = toWirePlan(row, [versionRow]);
      writer.audits.push(auditOf(caller, 'plan.created', `plan:${input.id}`, null, null, body));
      return okReply(201, body);
    },
  });
}

export async function publishPlanVersion(
  service: LedgerService,
  caller: Caller,
  planId: string,
  input: PlanVersionBody,
): Promise<Reply> {
  const plan = await planOf(service.database.reader, caller.environmentId, planId);
  if (plan === undefined) return problemReply(caller, 'plan_not_found', `No plan "${planId}" in this environment.`);
  const parsed = await parsePlanVersion(service, caller, planId, 0, input, '');
  if (!('plan' in parsed)) return fieldReply(caller, parsed);
  return service.submit(
    caller,
    'publishPlanVersion',
    { plan: planId, input },
    {
      kind: 'task',
      async run(writer) {
        const [row] = (await writer.session.selectByKeys(
          'plans',
          ['environment_id', 'id'],
          [[caller.environmentId, planId]],
          { lock: true },
        )) as PlanRow[]; // whole rows of one table: the drivers type them as the schema does
        if (row === undefined) throw new Error('assertion failed: plans are never deleted');
        const version = Number(row.latest_version) + 1;
        const versionRow = planVersionRow(caller.environmentId, planId, version, parsed.definition, writer.now);
        await writer.session.insertMany('plan_versions', [versionRow]);
        await writer.session.updateMany(
          'plans',
          ['environment_id', 'id'],
          [{ environment_id: caller.environmentId, id: planId, latest_version: BigInt(version) }],
        );
        const body = toWirePlanVersion(versionRow);
        writer.audits.push(auditOf(caller, 'plan.version_published', `plan:${planId}@${version}`, null, null, body));
        return okReply(201, body);
      },
    },
  );
}

export async function getPlan(service: LedgerService, caller: Caller, planId: string): Promise<Reply> {
  const reader = service.database.reader;
  const row = await planOf(reader, caller.environmentId, planId);
  if (row === undefined) return problemReply(caller, 'plan_not_found', `No plan "${planId}" in this environment.`);
  const versions = await queryBuilder(reader)
    .selectFrom('plan_versions')
    .selectAll()
    .where('environment_id', '=', caller.environmentId)
    .where('plan_id', '=', planId)
    .orderBy('version')
    .execute();
  return okReply(200, toWirePlan(row, versions));
}

const planKeys = keyset('plans', 'asc', textColumn('id'));

/** The environment's plans by id, each with every version. */
export async function listPlans(service: LedgerService, caller: Caller, query: PageQuery): Promise<Reply> {
  const reader = service.database.reader;
  const found = await readPage(reader, 'plans', planKeys, { 'environment_id = ?': caller.environmentId }, query);
  if (isFieldError(found)) return fieldReply(caller, [found]);
  const ids = found.rows.map((row) => row.id);
  const versions = await childRowsOf(reader, 'plan_versions', 'plan_id', caller.environmentId, ids, 'version');
  return okReply(200, {
    data: found.rows.map((plan) => toWirePlan(plan, versions.get(plan.id) ?? [])),
    next_cursor: found.nextCursor,
  });
}

function planVersionRow(
  environmentId: string,
  planId: string,
  version: number,
  definition: PlanVersionBody,
  now: number,
): PlanVersionRow {
  return {
    environment_id: environmentId,
    plan_id: planId,
    version: BigInt(version),
    definition: JSON.stringify(definition),
    created_at: BigInt(now),
  };
}

function toWirePlanVersion(row: PlanVersionRow) {
  return {
    version: Number(row.version),
    definition: JSON.parse(row.definition) as Record<string, unknown>,
    created_at: toTimestamp(toTime(row.created_at)),
  };
}

function planOf(reader: SqlSession, environmentId: string, planId: string): Promise<PlanRow | undefined> {
  return queryBuilder(reader)
    .selectFrom('plans')
    .selectAll()
    .where('environment_id', '=', environmentId)
    .where('id', '=', planId)
    .executeTakeFirst();
}

function toWirePlan(row: PlanRow, versions: readonly PlanVersionRow[]) {
  return {
    id: row.id,
    name: row.name,
    latest_version: Number(row.latest_version),
    versions: versions.map(toWirePlanVersion),
    created_at: toTimestamp(toTime(row.created_at)),
  };
}
