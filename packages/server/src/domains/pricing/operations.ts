/**
 * The pricing catalog: features and their meters, price books with effective-dated versions, and
 * the provider model-price catalog; and quotes, which rate an event without recording it. Writes
 * go through the committer (idempotency, audit); versions and model prices are append-only, so a
 * new version never changes a charge already made.
 */

import type {
  CreateFeatureBody,
  CreatePriceBookBody,
  PublishPriceVersionBody,
  QuoteCostBody,
  UpsertModelPriceBody,
} from '@bursar/api';
import type { Meter, Rational } from '@bursar/core';
import {
  decideCost,
  decideQuantities,
  formatAmount,
  parseAmount,
  parseDecimal,
  rational,
  viewBalance,
} from '@bursar/core';
import { auditOf } from '../../platform/commit/audit-chain.ts';
import type { Caller, FieldError, Reply } from '../../platform/contract.ts';
import type { LedgerService } from '../../platform/service.ts';
import { fieldReply, isFieldError, okReply, problemReply, refusalReply } from '../../platform/service.ts';
import { toTime } from '../../platform/storage/codecs.ts';
import { queryBuilder } from '../../platform/storage/kysely.ts';
import type { PageQuery } from '../../platform/storage/paging.ts';
import { bigintColumn, childRowsOf, keyset, readPage, textColumn } from '../../platform/storage/paging.ts';
import type { TableRow } from '../../platform/storage/schema.ts';
import { toTimestamp } from '../../platform/wire.ts';
import type { PriceDefinition } from './price-catalog.ts';
import { PriceCatalog } from './price-catalog.ts';

// ----- features -----------------------------------------------------------------------------

export function toWireFeature(row: TableRow<'features'>) {
  return {
    key: row.key,
    name: row.name,
    quantities: JSON.parse(row.meter) as Meter,
    created_at: toTimestamp(toTime(row.created_at)),
  };
}

export async function createFeature(service: LedgerService, caller: Caller, input: CreateFeatureBody): Promise<Reply> {
  const meter: Meter = input.quantities ?? { units: { count: true } };
  return service.submit(caller, 'createFeature', input, {
    kind: 'task',
    async run(writer) {
      const row: TableRow<'features'> = {
        environment_id: caller.environmentId,
        key: input.key,
        name: input.name ?? null,
        meter: JSON.stringify(meter),
        created_at: BigInt(writer.now),
      };
      const inserted = await writer.session.insertMany('features', [row], { onConflictDoNothing: true });
      if (inserted.length === 0) {
        return problemReply(caller, 'feature_exists', `A feature "${input.key}" exists in this environment.`);
      }
      const body = toWireFeature(row);
      writer.audits.push(auditOf(caller, 'feature.created', `feature:${input.key}`, null, null, body));
      return okReply(201, body);
    },
  });
}

export async function featureRow(
  service: LedgerService,
  environmentId: string,
  key: string,
): Promise<TableRow<'features'> | undefined> {
  return queryBuilder(service.database.reader)
    .selectFrom('features')
    .selectAll()
    .where('environment_id', '=', environmentId)
    .where('key', '=', key)
    .executeTakeFirst();
}

export async function getFeature(service: LedgerService, caller: Caller, key: string): Promise<Reply> {
  const row = await featureRow(service, caller.environmentId, key);
  return row === undefined
    ? problemReply(caller, 'feature_not_found', `No feature "${key}" in this environment.`)
    : okReply(200, toWireFeature(row));
}

const featureKeys = keyset('features', 'asc', textColumn('key'));

/** The environment's features by key. */
export async function listFeatures(service: LedgerService, caller: Caller, query: PageQuery): Promise<Reply> {
  const filters = { 'environment_id = ?': caller.environmentId };
  const found = await readPage(service.database.reader, 'features', featureKeys, filters, query);
  if (isFieldError(found)) return fieldReply(caller, [found]);
  return okReply(200, { data: found.rows.map(toWireFeature), next_cursor: found.nextCursor });
}

// ----- price books ------------------------------------------------------------------------------

export async function createPriceBook(
  service: LedgerService,
  caller: Caller,
  input: CreatePriceBookBody,
): Promise<Reply> {
  return service.submit(caller, 'createPriceBook', input, {
    kind: 'task',
    async run(writer) {
      if (input.default === true) {
        // Lock the environment row so two default books cannot be created at once.
        const db = queryBuilder(writer.session);
        await db
          .selectFrom('environments')
          .select('id')
          .where('id', '=', caller.environmentId)
          .$if(writer.session.dialect === 'postgres', (query) => query.forUpdate())
          .execute();
        const existing = await db
          .selectFrom('price_books')
          .select('key')
          .where('environment_id', '=', caller.environmentId)
          .where('is_default', '=', 1n)
          .executeTakeFirst();
        if (existing !== undefined) {
          return problemReply(caller, 'default_price_book_exists', `The default price book is "${existing.key}".`);
        }
      }
      const row: TableRow<'price_books'> = {
        environment_id: caller.environmentId,
        key: input.key,
        name: input.name ?? null,
        is_default: input.default === true ? 1n : 0n,
        created_at: BigInt(writer.now),
      };
      const inserted = await writer.session.insertMany('price_books', [row], { onConflictDoNothing: true });
      if (inserted.length === 0) {
        return problemReply(caller, 'price_book_exists', `A price book "${input.key}" exists in this environment.`);
      }
      const body = toWirePriceBook(row, []);
      writer.audits.push(auditOf(caller, 'price_book.created', `price_book:${input.key}`, null, null, body));
      return okReply(201, body);
    },
  });
}

function toWirePriceBook(row: TableRow<'price_books'>, versions: readonly TableRow<'price_versions'>[]) {
  return {
    key: row.key,
    name: row.name,
    default: row.is_default === 1n,
    versions: versions.map((version) => ({
      version: Number(version.version),
      effective_from: toTimestamp(toTime(version.effective_from)),
      prices: JSON.parse(version.definition) as PriceDefinition,
      created_at: toTimestamp(toTime(version.created_at)),
    })),
    created_at: toTimestamp(toTime(row.created_at)),
  };
}

function versionsOf(service: LedgerService, environmentId: string, book: string) {
  return queryBuilder(service.database.reader)
    .selectFrom('price_versions')
    .selectAll()
    .where('environment_id', '=', environmentId)
    .where('price_book', '=', book)
    .orderBy('version')
    .execute();
}

export async function getPriceBook(service: LedgerService, caller: Caller, key: string): Promise<Reply> {
  const row = await queryBuilder(service.database.reader)
    .selectFrom('price_books')
    .selectAll()
    .where('environment_id', '=', caller.environmentId)
    .where('key', '=', key)
    .executeTakeFirst();
  if (row === undefined)
    return problemReply(caller, 'price_book_not_found', `No price book "${key}" in this environment.`);
  return okReply(200, toWirePriceBook(row, await versionsOf(service, caller.environmentId, key)));
}

const priceBookKeys = keyset('price_books', 'asc', textColumn('key'));

/** The environment's price books by key, each with every version. */
export async function listPriceBooks(service: LedgerService, caller: Caller, query: PageQuery): Promise<Reply> {
  const reader = service.database.reader;
  const filters = { 'environment_id = ?': caller.environmentId };
  const found = await readPage(reader, 'price_books', priceBookKeys, filters, query);
  if (isFieldError(found)) return fieldReply(caller, [found]);
  const keys = found.rows.map((row) => row.key);
  const versions = await childRowsOf(reader, 'price_versions', 'price_book', caller.environmentId, keys, 'version');
  const data = found.rows.map((row) => toWirePriceBook(row, versions.get(row.key) ?? []));
  return okReply(200, { data, next_cursor: found.nextCursor });
}

/** Checks a version's prices against the catalog: features, their quantities, assets and scales. */
export async function checkPrices(
  service: LedgerService,
  caller: Caller,
  prices: PriceDefinition,
): Promise<FieldError[]> {
  const errors: FieldError[] = [];
  const seen = new Set<string>();
  for (const [index, price] of prices.entries()) {
    const field = `prices[${index}]`;
    if (seen.has(price.feature)) errors.push({ field: `${field}.feature`, message: 'is priced twice in this version' });
    seen.add(price.feature);
    const feature = await featureRow(service, caller.environmentId, price.feature);
    if (feature === undefined) {
      errors.push({ field: `${field}.feature`, message: `no feature "${price.feature}" in this environment` });
      continue;
    }
    const meter = JSON.parse(String(feature.meter)) as Meter;
    for (const [optionIndex, option] of price.options.entries()) {
      const optionField = `${field}.options[${optionIndex}]`;
      const asset = await service.asset(caller.environmentId, option.asset);
      if (asset === undefined)
        errors.push({ field: `${optionField}.asset`, message: `no asset "${option.asset}" in this environment` });
      else if (option.minimum !== undefined && !parseAmount(option.minimum, asset.scale).ok) {
        errors.push({
          field: `${optionField}.minimum`,
          message: `has more than ${asset.scale} decimal places (the asset's scale)`,
        });
      }
      for (const [componentIndex, component] of option.components.entries()) {
        if (meter[component.quantity] === undefined) {
          errors.push({
            field: `${optionField}.components[${componentIndex}].quantity`,
            message: `feature "${price.feature}" has no quantity "${component.quantity}"`,
          });
        }
        for (const [rateIndex, rate] of component.rates.entries()) {
          const tiersField = `${optionField}.components[${componentIndex}].rates[${rateIndex}].graduated.tiers`;
          errors.push(...checkTierOrder(rate.graduated?.tiers ?? [], tiersField));
        }
      }
    }
  }
  return errors;
}

/**
 * Tiers rise strictly by their exact values (as doubles, 9007199254740992 and …993 are one number)
 * and only the last has up_to null. A bound the core cannot read exactly is named at its field.
 */
function checkTierOrder(tiers: readonly { readonly up_to: string | null }[], field: string): FieldError[] {
  const bounds: (Rational | null)[] = [];
  for (const [tierIndex, tier] of tiers.entries()) {
    if (tier.up_to === null) {
      bounds.push(null);
      continue;
    }
    const parsed = parseDecimal(tier.up_to);
    if (!parsed.ok) return [{ field: `${field}[${tierIndex}].up_to`, message: parsed.reason }];
    bounds.push(rational.fromDecimal(parsed.value));
  }
  const ordered = bounds.every((bound, tierIndex) => {
    const next = bounds[tierIndex + 1];
    if (next === undefined) return bound === null;
    if (bound === null) return false;
    return next === null || rational.compare(bound, next) < 0;
  });
  return ordered ? [] : [{ field, message: 'must rise strictly, and only the last tier has up_to null' }];
}

export async function publishPriceVersion(
  service: LedgerService,
  caller: Caller,
  key: string,
  input: PublishPriceVersionBody,
): Promise<Reply> {
  const errors = await checkPrices(service, caller, input.prices);
  if (errors.length > 0) return fieldReply(caller, errors);
  return service.submit(
    caller,
    'publishPriceVersion',
    { key, ...input },
    {
      kind: 'task',
      async run(writer) {
        const effectiveFrom = input.effective_from ?? writer.now;
        if (effectiveFrom < writer.now) {
          return fieldReply(caller, [
            { field: 'effective_from', message: 'must not be in the past: charges already made never change' },
          ]);
        }
        const db = queryBuilder(writer.session);
        const book = await db
          .selectFrom('price_books')
          .selectAll()
          .where('environment_id', '=', caller.environmentId)
          .where('key', '=', key)
          .$if(writer.session.dialect === 'postgres', (query) => query.forUpdate())
          .executeTakeFirst();
        if (book === undefined) {
          return problemReply(caller, 'price_book_not_found', `No price book "${key}" in this environment.`);
        }
        const last = await db
          .selectFrom('price_versions')
          .select(['version', 'effective_from'])
          .where('environment_id', '=', caller.environmentId)
          .where('price_book', '=', key)
          .orderBy('version', 'desc')
          .limit(1)
          .executeTakeFirst();
        if (last !== undefined && effectiveFrom < toTime(last.effective_from)) {
          return fieldReply(caller, [
            { field: 'effective_from', message: 'must not be earlier than the latest version' },
          ]);
        }
        const row: TableRow<'price_versions'> = {
          environment_id: caller.environmentId,
          price_book: key,
          version: last === undefined ? 1n : last.version + 1n,
          effective_from: BigInt(effectiveFrom),
          definition: JSON.stringify(input.prices),
          created_at: BigInt(writer.now),
        };
        await writer.session.insertMany('price_versions', [row]);
        const body = toWirePriceBook(book, [row]);
        writer.audits.push(auditOf(caller, 'price_version.published', `price_book:${key}`, null, null, body));
        return okReply(201, body);
      },
    },
  );
}

// ----- model prices -----------------------------------------------------------------------------

function toWireModelPrice(row: TableRow<'model_prices'>) {
  return {
    model: row.model,
    provider: row.provider,
    effective_from: toTimestamp(toTime(row.effective_from)),
    input_per_million: row.input_per_million,
    output_per_million: row.output_per_million,
    cached_input_per_million: row.cached_input_per_million,
    cache_write_per_million: row.cache_write_per_million,
    batch_discount: row.batch_discount,
    created_at: toTimestamp(toTime(row.created_at)),
  };
}

export async function upsertModelPrice(
  service: LedgerService,
  caller: Caller,
  input: UpsertModelPriceBody,
): Promise<Reply> {
  const discount = parseDecimal(input.batch_discount ?? '0');
  if (!discount.ok || rational.compare(rational.fromDecimal(discount.value), rational.fromInteger(1n)) > 0) {
    return fieldReply(caller, [{ field: 'batch_discount', message: 'must be a fraction from 0 to 1' }]);
  }
  return service.submit(caller, 'upsertModelPrice', input, {
    kind: 'task',
    async run(writer) {
      const effectiveFrom = input.effective_from ?? writer.now;
      if (effectiveFrom < writer.now) {
        return fieldReply(caller, [
          { field: 'effective_from', message: 'must not be in the past: charges already made never change' },
        ]);
      }
      const row: TableRow<'model_prices'> = {
        environment_id: caller.environmentId,
        model: input.model,
        effective_from: BigInt(effectiveFrom),
        input_per_million: input.input_per_million,
        output_per_million: input.output_per_million,
        cached_input_per_million: input.cached_input_per_million ?? input.input_per_million,
        cache_write_per_million: input.cache_write_per_million ?? input.input_per_million,
        batch_discount: input.batch_discount ?? '0',
        provider: input.provider ?? null,
        created_at: BigInt(writer.now),
      };
      const inserted = await writer.session.insertMany('model_prices', [row], { onConflictDoNothing: true });
      if (inserted.length === 0) {
        return problemReply(
          caller,
          'model_price_exists',
          `Model "${input.model}" already has a price effective at that instant.`,
        );
      }
      const body = toWireModelPrice(row);
      writer.audits.push(auditOf(caller, 'model_price.upserted', `model:${input.model}`, null, null, body));
      return okReply(201, body);
    },
  });
}

const modelPriceKeys = keyset('model_prices', 'asc', textColumn('model'), bigintColumn('effective_from'));

/** The model price catalog by model, then by the date each price takes effect. */
export async function listModelPrices(service: LedgerService, caller: Caller, query: PageQuery): Promise<Reply> {
  const filters = { 'environment_id = ?': caller.environmentId };
  const found = await readPage(service.database.reader, 'model_prices', modelPriceKeys, filters, query);
  if (isFieldError(found)) return fieldReply(caller, [found]);
  return okReply(200, { data: found.rows.map(toWireModelPrice), next_cursor: found.nextCursor });
}

// ----- quotes -----------------------------------------------------------------------------------

const noPriceDetail = {
  price_book_not_found: 'This environment has no default price book.',
  price_not_found: 'No version of the default price book in force at that time prices this feature.',
} as const;

export async function quoteCost(service: LedgerService, caller: Caller, input: QuoteCostBody): Promise<Reply> {
  const at = input.timestamp ?? service.clock.now();
  const catalog = new PriceCatalog(service, caller.environmentId);
  const meter = await catalog.meter(input.feature);
  if (meter === undefined)
    return problemReply(caller, 'feature_not_found', `No feature "${input.feature}" in this environment.`);
  if (input.customer !== undefined && !(await service.customerExists(caller.environmentId, input.customer))) {
    return problemReply(caller, 'customer_not_found', `No customer "${input.customer}" in this environment.`);
  }
  const found = await catalog.price(input.feature, at, input.customer ?? null);
  if (typeof found === 'string') return problemReply(caller, found, noPriceDetail[found]);
  const properties = input.properties ?? {};
  const quantities = decideQuantities(meter, properties);
  if ('kind' in quantities) return refusalReply(caller, quantities, 0);
  const dimensions = Object.fromEntries(Object.entries(properties).map(([name, value]) => [name, String(value)]));
  const modelPrice = dimensions.model === undefined ? null : await catalog.modelPrice(dimensions.model, at);
  // A quote counts usage earlier in the period as zero; charged events use the period totals.
  const context = { dimensions, usedBefore: () => rational.zero, modelPrice, batch: properties.batch === true };
  const options = [];
  let paysWith: string | null = null;
  for (const { option, asset } of found.options) {
    const cost = decideCost(option, quantities, context, asset.scale);
    if ('kind' in cost) return refusalReply(caller, cost, asset.scale);
    let covered: boolean | null = null;
    if (input.customer !== undefined) {
      const wallet = await service.wallets.current({
        environmentId: caller.environmentId,
        customer: input.customer,
        asset: asset.code,
      });
      covered =
        (wallet === null ? 0n : viewBalance(wallet, service.clock.now(), input.feature).available) >= cost.units;
      if (covered && paysWith === null) paysWith = asset.code;
    }
    options.push({
      asset: asset.code,
      cost: formatAmount(cost.units, asset.scale),
      exact: rational.toDecimalText(cost.exact),
      lines: cost.lines.map((line) => ({
        quantity: line.quantity,
        amount: rational.toDecimalText(line.amount),
        when: line.when,
        model: line.model,
        cost: rational.toDecimalText(line.cost),
      })),
      covered,
    });
  }
  return okReply(200, {
    feature: input.feature,
    price_book: found.book,
    version: found.version,
    quantities: Object.fromEntries([...quantities].map(([name, amount]) => [name, rational.toDecimalText(amount)])),
    options,
    pays_with: paysWith,
  });
}
