/**
 * A snapshot of an environment's pricing catalog for one request: features, the default price
 * book's versions, the price books a customer's plan puts in its place for some features, and the
 * model prices it needs, each read once and kept for the request, so rating 1,000 events costs a
 * few reads, not a few per event.
 */

import type { PublishPriceVersionBody } from '@bursar/api';
import type { Component, Meter, ModelPrice, PriceOption, Rate, RateModel } from '@bursar/core';
import { parseAmount } from '@bursar/core';
import type { AssetInfo, LedgerService } from '../../platform/service.ts';
import { toDecimal, toTime } from '../../platform/storage/codecs.ts';
import { isAnyOf, queryBuilder } from '../../platform/storage/kysely.ts';
import type { TableRow } from '../../platform/storage/schema.ts';

type LiveSubscription = Pick<TableRow<'subscriptions'>, 'customer_id' | 'plan_id' | 'plan_version'>;

interface Version {
  readonly version: number;
  readonly effectiveFrom: number;
  readonly prices: ReadonlyMap<string, PriceDefinition[number]>;
}

export interface PriceInForce {
  readonly book: string;
  readonly version: number;
  readonly options: readonly { readonly option: PriceOption; readonly asset: AssetInfo }[];
}

export class PriceCatalog {
  readonly #service: LedgerService;
  readonly #environmentId: string;
  readonly #features = new Map<string, Promise<Meter | undefined>>();
  readonly #models = new Map<string, Promise<{ effectiveFrom: number; price: ModelPrice }[]>>();
  readonly #options = new Map<string, Promise<PriceInForce>>();
  readonly #versionsByBook = new Map<string, Promise<Version[]>>();
  readonly #overridesByCustomer = new Map<string, Promise<ReadonlyMap<string, string>>>();
  #defaultBook: Promise<string | null> | undefined;
  #plansWithOverrides: Promise<ReadonlyMap<string, readonly { feature: string; price_book: string }[]>> | undefined;

  constructor(service: LedgerService, environmentId: string) {
    this.#service = service;
    this.#environmentId = environmentId;
  }

  meter(feature: string): Promise<Meter | undefined> {
    let meter = this.#features.get(feature);
    if (meter === undefined) {
      meter = queryBuilder(this.#service.database.reader)
        .selectFrom('features')
        .select('meter')
        .where('environment_id', '=', this.#environmentId)
        .where('key', '=', feature)
        .executeTakeFirst()
        .then((row) => (row === undefined ? undefined : (JSON.parse(row.meter) as Meter)));
      this.#features.set(feature, meter);
    }
    return meter;
  }

  /**
   * The price of `feature` in force at `at`: from the book the customer's plan names for it (a price
   * override), when that book prices it then; otherwise from the default book. Or the outcome code
   * saying why there is none.
   */
  async price(
    feature: string,
    at: number,
    customer: string | null = null,
  ): Promise<PriceInForce | 'price_book_not_found' | 'price_not_found'> {
    const override = customer === null ? undefined : (await this.#overrides(customer)).get(feature);
    if (override !== undefined) {
      const found = await this.#priceInBook(override, feature, at);
      if (found !== null) return found;
    }
    this.#defaultBook ??= queryBuilder(this.#service.database.reader)
      .selectFrom('price_books')
      .select('key')
      .where('environment_id', '=', this.#environmentId)
      .where('is_default', '=', 1n)
      .executeTakeFirst()
      .then((row) => row?.key ?? null);
    const book = await this.#defaultBook;
    if (book === null) return 'price_book_not_found';
    return (await this.#priceInBook(book, feature, at)) ?? 'price_not_found';
  }

  async #priceInBook(book: string, feature: string, at: number): Promise<PriceInForce | null> {
    let versions = this.#versionsByBook.get(book);
    if (versions === undefined) {
      versions = this.#loadVersions(book);
      this.#versionsByBook.set(book, versions);
    }
    const version = (await versions).findLast((candidate) => candidate.effectiveFrom <= at);
    const price = version?.prices.get(feature);
    if (version === undefined || price === undefined) return null;
    const cacheKey = `${book}\u0000${version.version}\u0000${feature}`;
    let options = this.#options.get(cacheKey);
    if (options === undefined) {
      options = this.#toOptions(book, version.version, price);
      this.#options.set(cacheKey, options);
    }
    return options;
  }

  /**
   * Reads the price overrides of many customers with one statement (ingestion names up to 1,000
   * events' customers), so rating them costs no read per customer.
   */
  async preloadOverrides(customers: readonly string[]): Promise<void> {
    const missing = [...new Set(customers)].filter((customer) => !this.#overridesByCustomer.has(customer));
    if (missing.length === 0 || (await this.#overridingPlans()).size === 0) return;
    const rows = this.#liveSubscriptions(missing);
    for (const customer of missing)
      this.#overridesByCustomer.set(
        customer,
        rows.then((found) => this.#overridesOf(found.filter((row) => row.customer_id === customer))),
      );
  }

  /** Feature → price book, from the customer's trialing and active subscriptions (the newest wins). */
  #overrides(customer: string): Promise<ReadonlyMap<string, string>> {
    let overrides = this.#overridesByCustomer.get(customer);
    if (overrides === undefined) {
      overrides = this.#overridingPlans().then((plans) =>
        plans.size === 0 ? new Map() : this.#liveSubscriptions([customer]).then((rows) => this.#overridesOf(rows)),
      );
      this.#overridesByCustomer.set(customer, overrides);
    }
    return overrides;
  }

  /** Plan versions of the environment that override prices (usually none: then no customer is looked up). */
  #overridingPlans(): Promise<ReadonlyMap<string, readonly { feature: string; price_book: string }[]>> {
    this.#plansWithOverrides ??= queryBuilder(this.#service.database.reader)
      .selectFrom('plan_versions')
      .select(['plan_id', 'version', 'definition'])
      .where('environment_id', '=', this.#environmentId)
      .execute()
      .then((rows) => {
        const plans = new Map<string, { feature: string; price_book: string }[]>();
        for (const row of rows) {
          const definition = JSON.parse(row.definition) as {
            price_overrides?: { feature: string; price_book: string }[];
          };
          const overrides = definition.price_overrides ?? [];
          if (overrides.length > 0) plans.set(`${row.plan_id}@${toTime(row.version)}`, overrides);
        }
        return plans;
      });
    return this.#plansWithOverrides;
  }

  #liveSubscriptions(customers: readonly string[]): Promise<LiveSubscription[]> {
    const reader = this.#service.database.reader;
    return queryBuilder(reader)
      .selectFrom('subscriptions')
      .select(['customer_id', 'plan_id', 'plan_version'])
      .where('environment_id', '=', this.#environmentId)
      .where(isAnyOf(reader.dialect, 'customer_id', customers))
      .where('status', 'in', ['trialing', 'active'])
      .orderBy('created_at')
      .orderBy('id')
      .execute();
  }

  async #overridesOf(subscriptions: readonly LiveSubscription[]): Promise<ReadonlyMap<string, string>> {
    const plans = await this.#overridingPlans();
    const byFeature = new Map<string, string>();
    for (const row of subscriptions)
      for (const override of plans.get(`${row.plan_id}@${toTime(row.plan_version)}`) ?? [])
        byFeature.set(override.feature, override.price_book);
    return byFeature;
  }

  /** The provider price of `model` in force at `at`. */
  async modelPrice(model: string, at: number): Promise<ModelPrice | null> {
    let rows = this.#models.get(model);
    if (rows === undefined) {
      rows = queryBuilder(this.#service.database.reader)
        .selectFrom('model_prices')
        .selectAll()
        .where('environment_id', '=', this.#environmentId)
        .where('model', '=', model)
        .orderBy('effective_from')
        .execute()
        .then((found) =>
          found.map((row) => ({ effectiveFrom: toTime(row.effective_from), price: toModelPrice(model, row) })),
        );
      this.#models.set(model, rows);
    }
    return (await rows).findLast((row) => row.effectiveFrom <= at)?.price ?? null;
  }

  async #loadVersions(book: string): Promise<Version[]> {
    const rows = await queryBuilder(this.#service.database.reader)
      .selectFrom('price_versions')
      .selectAll()
      .where('environment_id', '=', this.#environmentId)
      .where('price_book', '=', book)
      .orderBy('version')
      .execute();
    return rows.map((row) => ({
      version: Number(row.version),
      effectiveFrom: toTime(row.effective_from),
      prices: new Map((JSON.parse(row.definition) as PriceDefinition).map((price) => [price.feature, price])),
    }));
  }

  async #toOptions(book: string, version: number, price: PriceDefinition[number]): Promise<PriceInForce> {
    const options = [];
    for (const option of price.options) {
      const asset = await this.#service.asset(this.#environmentId, option.asset);
      if (asset === undefined) throw new Error('assertion failed: a published price names existing assets');
      options.push({ option: toPriceOption(option, asset.scale), asset });
    }
    return { book, version, options };
  }
}

function toModelPrice(model: string, row: TableRow<'model_prices'>): ModelPrice {
  return {
    model,
    perMillion: {
      input: toDecimal(row.input_per_million),
      output: toDecimal(row.output_per_million),
      cached_input: toDecimal(row.cached_input_per_million),
      cache_write: toDecimal(row.cache_write_per_million),
    },
    batchDiscount: toDecimal(row.batch_discount),
  };
}

/** The core's price option from a stored definition (decimals checked when the version was published). */
export function toPriceOption(option: PriceDefinition[number]['options'][number], scale: number): PriceOption {
  const decimal = toDecimal; // a published price's decimals were checked when it was published
  const minimum = option.minimum === undefined ? 0n : parseAmount(option.minimum, scale);
  const toModel = (
    rate: PriceDefinition[number]['options'][number]['components'][number]['rates'][number],
  ): RateModel => {
    if (rate.per_unit !== undefined)
      return { kind: 'per_unit', unitPrice: decimal(rate.per_unit.unit_price), per: BigInt(rate.per_unit.per ?? 1) };
    if (rate.graduated !== undefined) {
      return {
        kind: 'graduated',
        tiers: rate.graduated.tiers.map((tier) => ({
          upTo: tier.up_to === null ? null : decimal(tier.up_to),
          unitPrice: decimal(tier.unit_price),
          per: BigInt(tier.per ?? 1),
        })),
      };
    }
    if (rate.cost_plus === undefined) throw new Error('assertion failed: a rate has one model');
    return {
      kind: 'cost_plus',
      providerPrice: rate.cost_plus.provider_price,
      markup: decimal(rate.cost_plus.markup),
      assetPerUsd: decimal(rate.cost_plus.asset_per_usd),
    };
  };
  const components: Component[] = option.components.map((component) => ({
    quantity: component.quantity,
    rates: component.rates.map((rate): Rate => ({ when: rate.when ?? {}, model: toModel(rate) })),
  }));
  return {
    asset: option.asset,
    components,
    minimum: typeof minimum === 'bigint' ? minimum : minimum.ok ? minimum.units : 0n,
    rounding: option.rounding ?? 'up',
  };
}

export type PriceDefinition = PublishPriceVersionBody['prices'];
