/**
 * The operator's portal settings, one per environment: branding, the bounds of what customers may
 * set for auto-recharge, and the unit price of each asset a customer may top up. Until the operator
 * sets them, the portal shows no branding, auto-recharge is read-only and top-up is off.
 */
import type { PortalSettingsBody } from '@bursar/api';
import { auditOf } from '../../platform/commit/audit-chain.ts';
import type { Caller, FieldError, Reply } from '../../platform/contract.ts';
import type { LedgerService } from '../../platform/service.ts';
import { fieldReply, okReply } from '../../platform/service.ts';
import { canonicalDecimal, isOrdered } from './limits.ts';
import { storedSettings } from './store.ts';

export type PortalSettings = PortalSettingsBody;

export const defaultPortalSettings: PortalSettings = {
  branding: { name: null, logo_url: null, accent_color: null },
  auto_recharge: { editable: false, threshold_max: null, amount_min: null, amount_max: null, monthly_cap_max: null },
  top_up: { prices: [] },
};

export async function portalSettingsOf(service: LedgerService, environmentId: string): Promise<PortalSettings> {
  const text = await storedSettings(service, environmentId);
  return text === null ? defaultPortalSettings : (JSON.parse(text) as PortalSettings);
}

export async function getPortalSettings(service: LedgerService, caller: Caller): Promise<Reply> {
  return okReply(200, await portalSettingsOf(service, caller.environmentId));
}

const canonicalOrNull = (text: string | null) => (text === null ? null : canonicalDecimal(text));

/** Checks the settings against the environment (its assets) and themselves (min ≤ max); stores them with an audit row. */
export async function updatePortalSettings(
  service: LedgerService,
  caller: Caller,
  input: PortalSettingsBody,
): Promise<Reply> {
  const errors: FieldError[] = [];
  const limits = input.auto_recharge;
  if (!isOrdered(limits.amount_min, limits.amount_max))
    errors.push({ field: 'auto_recharge.amount_max', message: 'must be at least amount_min' });
  const seen = new Set<string>();
  for (const [index, price] of input.top_up.prices.entries()) {
    if (seen.has(price.asset))
      errors.push({ field: `top_up.prices.${index}.asset`, message: 'has a price already in this list' });
    seen.add(price.asset);
    if ((await service.asset(caller.environmentId, price.asset)) === undefined)
      errors.push({ field: `top_up.prices.${index}.asset`, message: 'is not an asset of this environment' });
    if ((await service.asset(caller.environmentId, price.currency)) === undefined)
      errors.push({ field: `top_up.prices.${index}.currency`, message: 'is not an asset of this environment' });
  }
  if (errors.length > 0) return fieldReply(caller, errors);
  const settings: PortalSettings = {
    branding: input.branding,
    auto_recharge: {
      editable: limits.editable,
      threshold_max: canonicalOrNull(limits.threshold_max),
      amount_min: canonicalOrNull(limits.amount_min),
      amount_max: canonicalOrNull(limits.amount_max),
      monthly_cap_max: canonicalOrNull(limits.monthly_cap_max),
    },
    top_up: {
      prices: input.top_up.prices.map((price) => ({ ...price, unit_price: canonicalDecimal(price.unit_price) })),
    },
  };
  const before = await storedSettings(service, caller.environmentId);
  await service.committer.runInWriter('portal_settings', async ({ session, now, audits }) => {
    const row = { environment_id: caller.environmentId, settings: JSON.stringify(settings), updated_at: BigInt(now) };
    const inserted = await session.insertMany('portal_settings', [row], { onConflictDoNothing: true });
    if (inserted.length === 0) await session.updateMany('portal_settings', ['environment_id'], [row]);
    audits.push(
      auditOf(
        caller,
        'portal_settings.updated',
        `environment:${caller.environmentId}`,
        null,
        before === null ? null : JSON.parse(before),
        settings,
      ),
    );
  });
  return okReply(200, settings);
}
