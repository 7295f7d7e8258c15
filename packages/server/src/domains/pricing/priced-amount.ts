/**
 * What a hold or a check reserves: an amount in an asset, or a feature with estimated quantities
 * priced now by the price in force, in the first of its assets the customer's wallet covers (the
 * first listed when none does, so the refusal speaks of the preferred asset).
 */
import { decideCost, decideQuantities, rational, viewBalance } from '@bursar/core';
import type { WalletKey } from '../../platform/commit/wallet-key.ts';
import type { Caller, Reply } from '../../platform/contract.ts';
import type { AssetInfo, LedgerService } from '../../platform/service.ts';
import { fieldReply, isFieldError, parseWireAmount, problemReply, refusalReply } from '../../platform/service.ts';
import { PriceCatalog } from './price-catalog.ts';

export interface PricedAmountInput {
  customer: string;
  asset?: string | undefined;
  amount?: string | undefined;
  feature?: string | undefined;
  quantities?: Record<string, string | number | boolean | null> | undefined;
}

export interface PricedAmount {
  readonly key: WalletKey;
  readonly asset: AssetInfo;
  readonly amount: bigint;
}

export async function resolvePricedAmount(
  service: LedgerService,
  caller: Caller,
  input: PricedAmountInput,
): Promise<PricedAmount | Reply> {
  if (input.quantities === undefined) {
    const target = await service.walletFor(caller, input.customer, input.asset ?? '');
    if ('bodyText' in target) return target;
    const amount = parseWireAmount(input.amount ?? '', target.asset.scale, 'amount', { positive: true });
    if (isFieldError(amount)) return fieldReply(caller, [amount]);
    return { key: target.key, asset: target.asset, amount };
  }
  const feature = input.feature ?? '';
  const now = service.clock.now();
  const catalog = new PriceCatalog(service, caller.environmentId);
  const meter = await catalog.meter(feature);
  if (meter === undefined)
    return problemReply(caller, 'feature_not_found', `No feature "${feature}" in this environment.`);
  const found = await catalog.price(feature, now, input.customer);
  if (typeof found === 'string') return problemReply(caller, found, 'No price in force prices this feature.');
  const quantities = decideQuantities(meter, input.quantities);
  if ('kind' in quantities)
    return refusalReply(
      caller,
      {
        ...quantities,
        facts: { field: `quantities.${String(quantities.facts?.field ?? '').replace(/^properties\./, '')}` },
      },
      0,
    );
  const dimensions = Object.fromEntries(Object.entries(input.quantities).map(([name, value]) => [name, String(value)]));
  const modelPrice = dimensions.model === undefined ? null : await catalog.modelPrice(dimensions.model, now);
  const options = found.options.filter(({ asset }) => input.asset === undefined || asset.code === input.asset);
  if (options.length === 0)
    return fieldReply(caller, [{ field: 'asset', message: `the price of "${feature}" is not in "${input.asset}"` }]);
  // An estimate is priced as if it were the period's first usage; graduated tiers settle on the real event.
  let chosen: PricedAmount | null = null;
  for (const { option, asset } of options) {
    const cost = decideCost(
      option,
      quantities,
      { dimensions, usedBefore: () => rational.zero, modelPrice, batch: false },
      asset.scale,
    );
    if ('kind' in cost) return refusalReply(caller, cost, asset.scale);
    const target = await service.walletFor(caller, input.customer, asset.code);
    if ('bodyText' in target) return target;
    const priced = { key: target.key, asset, amount: cost.units };
    chosen ??= priced;
    const wallet = await service.wallets.current(target.key);
    if (wallet !== null && viewBalance(wallet, now, feature).available >= cost.units) return priced;
  }
  if (chosen === null) throw new Error('assertion failed: a price has at least one option');
  return chosen;
}
