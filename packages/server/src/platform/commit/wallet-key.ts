/** A wallet is named by environment, customer and asset; its text form keys maps and sorts locks. */
export interface WalletKey {
  readonly environmentId: string;
  readonly customer: string;
  readonly asset: string;
}

export function walletKeyText(key: WalletKey): string {
  return `${key.environmentId}\u0000${key.customer}\u0000${key.asset}`;
}
