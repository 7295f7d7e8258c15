/** The shapes the widgets read, taken from the generated OpenAPI types of @bursar/sdk so they follow the wire contract. */
import type { components } from '@bursar/sdk';

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

/** getPortalSession's body (web contract, issue 11). */
export interface PortalSession {
  readonly customer: { readonly id: string; readonly name: string | null };
  readonly expires_at: string;
  readonly return_url: string;
  /** null when the session is a bearer token: only the cookie needs it. */
  readonly csrf_token: string | null;
  readonly branding: {
    readonly name: string | null;
    readonly logo_url: string | null;
    readonly accent_color: string | null;
  };
  readonly top_up: {
    readonly available: boolean;
    readonly reason?: string | undefined;
    /** The assets a customer can buy, each at its price per unit in a currency. */
    readonly assets: { readonly asset: string; readonly currency: string; readonly unit_price: string }[];
  };
  readonly auto_recharge_limits: {
    readonly editable: boolean;
    readonly threshold_max: string | null;
    readonly amount_min: string | null;
    readonly amount_max: string | null;
    readonly monthly_cap_max: string | null;
  };
}

/** What createPortalTopUp answers when a payment provider is configured. */
export interface TopUpCheckout {
  readonly checkout_url: string;
  readonly expires_at: string | null;
}

/** getPortalAutoRecharge's and updatePortalAutoRecharge's answer: `not_set` before the customer has a rule. */
export interface PortalAutoRecharge {
  readonly asset: string;
  readonly enabled: boolean;
  readonly threshold: string | null;
  readonly amount: string | null;
  readonly monthly_cap: string | null;
  readonly status: 'active' | 'disabled' | 'stopped_after_failures' | 'not_set';
  readonly spent_this_month: string;
}

/** updatePortalAutoRecharge's body. */
export interface AutoRechargeSettings {
  readonly asset: string;
  readonly enabled: boolean;
  readonly threshold: string;
  readonly amount: string;
  readonly monthly_cap: string | null;
}
