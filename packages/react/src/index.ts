/** @bursar/react: Bursar's widgets for a customer's portal session, the provider they share, and their client. */
export { compareDecimals, formatDecimal, sumDecimals } from './amounts.ts';
export type { AutoRechargeProps } from './auto-recharge.tsx';
export { AutoRecharge } from './auto-recharge.tsx';
export type { PortalClientOptions } from './client.ts';
export { PortalClient, PortalRequestError } from './client.ts';
export type { CreditBalanceProps } from './credit-balance.tsx';
export { CreditBalance } from './credit-balance.tsx';
export type { CreditGrantsProps } from './credit-grants.tsx';
export { CreditGrants } from './credit-grants.tsx';
export type { CreditUtilizationProps } from './credit-utilization.tsx';
export { CreditUtilization } from './credit-utilization.tsx';
export { Holds } from './holds.tsx';
export type { MessageKey, Messages } from './messages.ts';
export { defaultMessages } from './messages.ts';
export type { LoadState } from './portal-store.ts';
export type { BursarProviderProps } from './provider.tsx';
export { BursarProvider, usePortalSession, useTranslation } from './provider.tsx';
export type { TransactionsProps } from './transactions.tsx';
export { Transactions } from './transactions.tsx';
export type {
  AutoRechargeSettings,
  Balance,
  Balances,
  Grant,
  Hold,
  PortalAutoRecharge,
  PortalSession,
  TopUpCheckout,
  Transaction,
  Usage,
} from './types.ts';
export type { UsageChartProps, UsageGranularity } from './usage-chart.tsx';
export { UsageChart } from './usage-chart.tsx';
