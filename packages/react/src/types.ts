/** The shapes the widgets read, taken from the generated OpenAPI types of @bursar/sdk so they follow the wire contract. */
import type { components, operations } from '@bursar/sdk';

type Schemas = components['schemas'];

export type Balance = Schemas['Balance'];
export type Balances = Schemas['Balances'];
export type Grant = Schemas['Grant'];
export type Hold = Schemas['Hold'];
export type Transaction = Schemas['Transaction'];
export type Usage = Schemas['Usage'];

/** A page of a list operation. */
export interface Page<T> {
  readonly data: T[];
  readonly next_cursor: string | null;
}

/** getPortalSession's body: the customer, branding, top-up offers and auto-recharge limits. */
export type PortalSession = Schemas['PortalSession'];
/** One of the session customer's live subscriptions: plan name and version, and the period running now. */
export type PortalSubscription = PortalSession['subscriptions'][number];
/** getPortalAutoRecharge's and updatePortalAutoRecharge's answer: `not_set` before the customer has a rule. */
export type PortalAutoRecharge = Schemas['PortalAutoRecharge'];
/** What createPortalTopUp answers when a payment provider is configured. */
export type TopUpCheckout = Schemas['PortalTopUp'];
/** updatePortalAutoRecharge's body. */
export type AutoRechargeSettings = operations['updatePortalAutoRecharge']['requestBody']['content']['application/json'];
