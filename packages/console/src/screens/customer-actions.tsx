/**
 * The write actions on one customer, each a form in the preview-then-confirm panel: grant, adjust,
 * void a grant, reverse a transaction, set the overdraft and consumption order, change or cancel a
 * subscription.
 */
import { grantCategories, orderKeys } from '@bursar/core';
import { useState } from 'react';
import { ActionPanel, type ActionRequest } from '../action-panel.tsx';
import { type Page, path, type Schemas } from '../api.ts';
import { Field, localToInstant, useApi, words } from '../ui.tsx';

export type CustomerAction =
  | { readonly kind: 'grant' }
  | { readonly kind: 'adjust' }
  | { readonly kind: 'policy' }
  | { readonly kind: 'void'; readonly grant: Schemas['Grant'] }
  | { readonly kind: 'reverse'; readonly transaction: Schemas['Transaction'] }
  | { readonly kind: 'change'; readonly subscription: Schemas['Subscription'] }
  | { readonly kind: 'cancel'; readonly subscription: Schemas['Subscription'] };

interface PanelProps {
  readonly customer: string;
  readonly assets: readonly string[];
  readonly balances: readonly Schemas['Balance'][];
  readonly onClose: () => void;
  readonly onDone: (message: string) => void;
}

export function CustomerActionPanel({ action, ...props }: PanelProps & { readonly action: CustomerAction }) {
  switch (action.kind) {
    case 'grant':
      return <GrantForm {...props} />;
    case 'adjust':
      return <AdjustForm {...props} />;
    case 'policy':
      return <PolicyForm {...props} />;
    case 'void':
      return (
        <ActionPanel
          title={`Void grant ${action.grant.id}`}
          onClose={props.onClose}
          onDone={props.onDone}
          build={(reason) => ({ path: path`/v1/grants/${action.grant.id}/void`, body: { reason } })}
        >
          <p className="span">
            Voids the <span className="amount">{action.grant.remaining}</span> {action.grant.asset} left of this grant.
          </p>
        </ActionPanel>
      );
    case 'reverse':
      return <ReverseForm {...props} transaction={action.transaction} />;
    case 'change':
      return <ChangeSubscriptionForm {...props} subscription={action.subscription} />;
    case 'cancel':
      return <CancelSubscriptionForm {...props} subscription={action.subscription} />;
  }
}

function AssetSelect({
  assets,
  value,
  onChange,
}: {
  readonly assets: readonly string[];
  readonly value: string;
  readonly onChange: (asset: string) => void;
}) {
  const known = useApi<Page<Schemas['Asset']>>('/v1/assets', { limit: 100 });
  const codes = [...new Set([...assets, ...(known.data?.data.map((asset) => asset.code) ?? [])])];
  return (
    <Field label="Asset">
      {(id) => (
        <select id={id} value={value} onChange={(event) => onChange(event.target.value)} required>
          <option value="">Choose…</option>
          {codes.map((code) => (
            <option key={code} value={code}>
              {code}
            </option>
          ))}
        </select>
      )}
    </Field>
  );
}

function GrantForm({ customer, assets, onClose, onDone }: PanelProps) {
  const [asset, setAsset] = useState(assets[0] ?? '');
  const [amount, setAmount] = useState('');
  const [category, setCategory] = useState<(typeof grantCategories)[number]>('support');
  const [priority, setPriority] = useState('0');
  const [expiresAt, setExpiresAt] = useState('');
  const [features, setFeatures] = useState('');
  const [costTotal, setCostTotal] = useState('');
  const [costCurrency, setCostCurrency] = useState('');

  function build(reason: string): ActionRequest | string {
    if (asset === '') return 'Choose an asset.';
    if (amount.trim() === '') return 'An amount is required.';
    const featureKeys = words(features);
    const expires = localToInstant(expiresAt);
    return {
      path: '/v1/grants',
      body: {
        customer,
        asset,
        amount: amount.trim(),
        category,
        priority: Number.parseInt(priority, 10) || 0,
        reason,
        ...(expires === undefined ? {} : { expires_at: expires }),
        ...(featureKeys.length === 0 ? {} : { features: featureKeys }),
        ...(costTotal.trim() === '' ? {} : { cost_basis: { currency: costCurrency.trim(), total: costTotal.trim() } }),
      },
    };
  }

  return (
    <ActionPanel title="Grant credit" build={build} onClose={onClose} onDone={onDone}>
      <AssetSelect assets={assets} value={asset} onChange={setAsset} />
      <Field label="Amount">
        {(id) => (
          <input id={id} inputMode="decimal" value={amount} onChange={(event) => setAmount(event.target.value)} />
        )}
      </Field>
      <Field label="Category">
        {(id) => (
          <select
            id={id}
            value={category}
            onChange={(event) => setCategory(event.target.value as (typeof grantCategories)[number])}
          >
            {grantCategories.map((name) => (
              <option key={name} value={name}>
                {name}
              </option>
            ))}
          </select>
        )}
      </Field>
      <Field label="Priority" hint="Lower is drawn first.">
        {(id) => (
          <input id={id} inputMode="numeric" value={priority} onChange={(event) => setPriority(event.target.value)} />
        )}
      </Field>
      <Field label="Expires at (optional)">
        {(id) => (
          <input
            id={id}
            type="datetime-local"
            value={expiresAt}
            onChange={(event) => setExpiresAt(event.target.value)}
          />
        )}
      </Field>
      <Field label="Only for features (optional)" hint="Feature keys, separated by commas.">
        {(id) => <input id={id} value={features} onChange={(event) => setFeatures(event.target.value)} />}
      </Field>
      <Field label="Cost basis total (optional)">
        {(id) => (
          <input id={id} inputMode="decimal" value={costTotal} onChange={(event) => setCostTotal(event.target.value)} />
        )}
      </Field>
      <Field label="Cost basis currency asset">
        {(id) => <input id={id} value={costCurrency} onChange={(event) => setCostCurrency(event.target.value)} />}
      </Field>
    </ActionPanel>
  );
}

function AdjustForm({ customer, assets, onClose, onDone }: PanelProps) {
  const [asset, setAsset] = useState(assets[0] ?? '');
  const [amount, setAmount] = useState('');
  function build(reason: string): ActionRequest | string {
    if (asset === '') return 'Choose an asset.';
    if (amount.trim() === '') return 'An amount is required.';
    return { path: '/v1/adjustments', body: { customer, asset, amount: amount.trim(), reason } };
  }
  return (
    <ActionPanel title="Adjust balance" build={build} onClose={onClose} onDone={onDone}>
      <AssetSelect assets={assets} value={asset} onChange={setAsset} />
      <Field label="Amount" hint="Signed: −5 takes 5 away, 5 adds 5.">
        {(id) => <input id={id} value={amount} onChange={(event) => setAmount(event.target.value)} />}
      </Field>
    </ActionPanel>
  );
}

function PolicyForm({ customer, assets, balances, onClose, onDone }: PanelProps) {
  const [asset, setAsset] = useState(assets[0] ?? '');
  const wallet = balances.find((balance) => balance.asset === asset);
  const [overdraft, setOverdraft] = useState(wallet?.overdraft_limit ?? '');
  const [order, setOrder] = useState(wallet?.consumption_order.join(', ') ?? '');
  function choose(next: string) {
    setAsset(next);
    const chosen = balances.find((balance) => balance.asset === next);
    setOverdraft(chosen?.overdraft_limit ?? '');
    setOrder(chosen?.consumption_order.join(', ') ?? '');
  }
  function build(reason: string): ActionRequest | string {
    if (asset === '') return 'Choose an asset.';
    const keys = words(order);
    if (overdraft.trim() === '' && keys.length === 0) return 'Give an overdraft limit or a consumption order.';
    return {
      path: path`/v1/customers/${customer}/wallets/${asset}/policy`,
      body: {
        reason,
        ...(overdraft.trim() === '' ? {} : { overdraft_limit: overdraft.trim() }),
        ...(keys.length === 0 ? {} : { consumption_order: keys }),
      },
    };
  }
  return (
    <ActionPanel title="Overdraft and consumption order" build={build} onClose={onClose} onDone={onDone}>
      <AssetSelect assets={assets} value={asset} onChange={choose} />
      <Field label="Overdraft limit">
        {(id) => (
          <input id={id} inputMode="decimal" value={overdraft} onChange={(event) => setOverdraft(event.target.value)} />
        )}
      </Field>
      <Field label="Consumption order" hint={`Keys in order, separated by commas: ${orderKeys.join(', ')}.`}>
        {(id) => <input id={id} value={order} onChange={(event) => setOrder(event.target.value)} />}
      </Field>
    </ActionPanel>
  );
}

function ReverseForm({ transaction, onClose, onDone }: PanelProps & { readonly transaction: Schemas['Transaction'] }) {
  const [amount, setAmount] = useState('');
  return (
    <ActionPanel
      title={`Reverse transaction ${transaction.id}`}
      onClose={onClose}
      onDone={onDone}
      build={(reason) => ({
        path: path`/v1/transactions/${transaction.id}/reverse`,
        body: { reason, ...(amount.trim() === '' ? {} : { amount: amount.trim() }) },
      })}
    >
      <p className="span">
        {transaction.kind} of <span className="amount">{transaction.amount}</span> {transaction.asset}.
      </p>
      <Field label="Amount to reverse (optional)" hint="Empty: whatever is left to reverse.">
        {(id) => (
          <input id={id} inputMode="decimal" value={amount} onChange={(event) => setAmount(event.target.value)} />
        )}
      </Field>
    </ActionPanel>
  );
}

type SubscriptionChange = 'change_plan' | 'pause' | 'resume';

function ChangeSubscriptionForm({
  subscription,
  onClose,
  onDone,
}: PanelProps & { readonly subscription: Schemas['Subscription'] }) {
  const plans = useApi<Page<Schemas['Plan']>>('/v1/plans', { limit: 100 });
  const [change, setChange] = useState<SubscriptionChange>('change_plan');
  const [plan, setPlan] = useState(subscription.plan);
  const [version, setVersion] = useState('');
  const [timing, setTiming] = useState<'immediate' | 'period_end'>('immediate');
  function build(reason: string): ActionRequest | string {
    const target = path`/v1/subscriptions/${subscription.id}/change`;
    if (change !== 'change_plan') return { path: target, body: { action: change, reason } };
    if (plan === '') return 'Choose a plan.';
    const versionNumber = Number.parseInt(version, 10);
    return {
      path: target,
      body: {
        action: 'change_plan',
        plan,
        timing,
        reason,
        ...(Number.isNaN(versionNumber) ? {} : { version: versionNumber }),
      },
    };
  }
  return (
    <ActionPanel title={`Change subscription ${subscription.id}`} build={build} onClose={onClose} onDone={onDone}>
      <Field label="Change">
        {(id) => (
          <select id={id} value={change} onChange={(event) => setChange(event.target.value as SubscriptionChange)}>
            <option value="change_plan">Change plan</option>
            <option value="pause">Pause</option>
            <option value="resume">Resume</option>
          </select>
        )}
      </Field>
      {change === 'change_plan' && (
        <>
          <Field label="Plan">
            {(id) => (
              <select id={id} value={plan} onChange={(event) => setPlan(event.target.value)}>
                {(plans.data?.data ?? [{ id: subscription.plan }]).map((option) => (
                  <option key={option.id} value={option.id}>
                    {option.id}
                  </option>
                ))}
              </select>
            )}
          </Field>
          <Field label="Version (optional)" hint="Empty: the latest.">
            {(id) => (
              <input id={id} inputMode="numeric" value={version} onChange={(event) => setVersion(event.target.value)} />
            )}
          </Field>
          <TimingField value={timing} onChange={setTiming} />
        </>
      )}
    </ActionPanel>
  );
}

function TimingField({
  value,
  onChange,
}: {
  readonly value: 'immediate' | 'period_end';
  readonly onChange: (timing: 'immediate' | 'period_end') => void;
}) {
  return (
    <Field label="When">
      {(id) => (
        <select id={id} value={value} onChange={(event) => onChange(event.target.value as 'immediate' | 'period_end')}>
          <option value="immediate">Now</option>
          <option value="period_end">At the end of the period</option>
        </select>
      )}
    </Field>
  );
}

function CancelSubscriptionForm({
  subscription,
  onClose,
  onDone,
}: PanelProps & { readonly subscription: Schemas['Subscription'] }) {
  const [timing, setTiming] = useState<'immediate' | 'period_end'>('period_end');
  return (
    <ActionPanel
      title={`Cancel subscription ${subscription.id}`}
      onClose={onClose}
      onDone={onDone}
      build={(reason) => ({ path: path`/v1/subscriptions/${subscription.id}/cancel`, body: { timing, reason } })}
    >
      <TimingField value={timing} onChange={setTiming} />
    </ActionPanel>
  );
}
