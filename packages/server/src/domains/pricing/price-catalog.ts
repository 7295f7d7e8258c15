/**
 * A snapshot of an environment's pricing catalog for one request: features, the default price
 * book's versions, the price books a customer's plan puts in its place for some features, and the
 * model prices it needs, each read once and kept for the request, so rating 1,000 events costs a
 * few reads, not a few per event.
 */

import type { PublishPriceVersionBody } from '@bursar/api';
import type { Component, Meter, ModelPrice, PriceOption, Rate, RateModel } from '@bursar/core';
import { parseAmount, parseDecimal } from '@bursar/core';
import type { AssetInfo, LedgerService } from '../../platform/service.ts';
import { toTime } from '../../platform/storage/codecs.ts';
import type { SqlRow } from '../../platform/storage/database.ts';

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
      meter = this.#service.database.reader
        .all('SELECT meter FROM features WHERE environment_id = ? AND key = ?', [this.#environmentId, feature])
        .then(([row]) => (row === undefined ? undefined : (JSON.parse(String(row.meter)) as Meter)));
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
    this.#defaultBook ??= this.#service.database.reader
      .all('SELECT key FROM price_books WHERE environment_id = ? AND is_default = 1', [this.#environmentId])
      .then(([row]) => (row === undefined ? null : String(row.key)));
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
    this.#plansWithOverrides ??= this.#service.database.reader
      .all('SELECT plan_id, version, definition FROM plan_versions WHERE environment_id = ?', [this.#environmentId])
      .then((rows) => {
        const plans = new Map<string, { feature: string; price_book: string }[]>();
        for (const row of rows) {
          const definition = JSON.parse(String(row.definition)) as {
            price_overrides?: { feature: string; price_book: string }[];
          };
          const overrides = definition.price_overrides ?? [];
          if (overrides.length > 0) plans.set(`${row.plan_id}@${toTime(row.version)}`, overrides);
        }
        return plans;
      });
    return this.#plansWithOverrides;
  }

  #liveSubscriptions(customers: readonly string[]): Promise<SqlRow[]> {
    return this.#service.database.reader.all(
      `SELECT customer_id, plan_id, plan_version FROM subscriptions
       WHERE environment_id = ? AND customer_id IN (${customers.map(() => '?').join(', ')})
         AND status IN ('trialing', 'active')
       ORDER BY created_at, id`,
      [this.#environmentId, ...customers],
    );
  }

  async #overridesOf(subscriptions: readonly SqlRow[]): Promise<ReadonlyMap<string, string>> {
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
      rows = this.#service.database.reader
        .all('SELECT * FROM model_prices WHERE environment_id = ? AND model = ? ORDER BY effective_from', [
          this.#environmentId,
          model,
        ])
        .then((found) =>
          found.map((row) => ({ effectiveFrom: toTime(row.effective_from), price: toModelPrice(model, row) })),
        );
      this.#models.set(model, rows);
    }
    return (await rows).findLast((row) => row.effectiveFrom <= at)?.price ?? null;
  }

  async #loadVersions(book: string): Promise<Version[]> {
    const rows = await this.#service.database.reader.all(
      'SELECT * FROM price_versions WHERE environment_id = ? AND price_book = ? ORDER BY version',
      [this.#environmentId, book],
    );
    return rows.map((row) => ({
      version: Number(row.version),
      effectiveFrom: toTime(row.effective_from),
      prices: new Map((JSON.parse(String(row.definition)) as PriceDefinition).map((price) => [price.feature, price])),
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

function toModelPrice(model: string, row: SqlRow): ModelPrice {
  const decimal = (column: string) => {
    const parsed = parseDecimal(String(row[column]));
    if (!parsed.ok) throw new Error(`assertion failed: stored ${column} is a decimal`);
    return parsed.value;
  };
  return {
    model,
    perMillion: {
      input: decimal('input_per_million'),
      output: decimal('output_per_million'),
      cached_input: decimal('cached_input_per_million'),
      cache_write: decimal('cache_write_per_million'),
    },
    batchDiscount: decimal('batch_discount'),
  };
}

/** The core's price option from a stored definition (decimals checked when the version was published). */
export function toPriceOption(option: PriceDefinition[number]['options'][number], scale: number): PriceOption {
  const decimal = (text: string) => {
    const parsed = parseDecimal(text);
    if (!parsed.ok) throw new Error('assertion failed: a published price holds decimals');
    return parsed.value;
  };
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
