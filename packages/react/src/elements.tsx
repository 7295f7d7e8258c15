/**
 * The framework-free build: each widget as a custom element (`<bursar-credit-balance token="bps_…"
 * base-url="https://billing.example.com">`), with React bundled in. Each element renders into its own shadow
 * root with the widgets' stylesheet, so the host page's CSS cannot break it while --bursar-* variables still
 * theme it; elements with the same base-url and token share one session and one live stream.
 */
import type { ReactNode } from 'react';
import type { Root } from 'react-dom/client';
import { createRoot } from 'react-dom/client';
import { AutoRecharge } from './auto-recharge.tsx';
import { CreditBalance } from './credit-balance.tsx';
import { CreditGrants } from './credit-grants.tsx';
import { CreditUtilization } from './credit-utilization.tsx';
import { Holds } from './holds.tsx';
import type { Messages } from './messages.ts';
import { BursarProvider } from './provider.tsx';
import styles from './styles.css?inline';
import { Transactions } from './transactions.tsx';
import { UsageChart } from './usage-chart.tsx';

type Attributes = (name: string) => string | undefined;

const numberAttribute = (text: string | undefined) =>
  text && /^\d+$/.test(text) ? Number.parseInt(text, 10) : undefined;

/** Each element's tag, the attributes it reads beyond the shared ones, and how they become the widget's props. */
const widgets: Record<string, { attributes: string[]; render: (attribute: Attributes) => ReactNode }> = {
  'bursar-credit-balance': {
    attributes: ['asset', 'show-top-up'],
    render: (attribute) => (
      <CreditBalance asset={attribute('asset')} showTopUp={attribute('show-top-up') !== 'false'} />
    ),
  },
  'bursar-credit-utilization': {
    attributes: ['asset'],
    render: (attribute) => <CreditUtilization asset={attribute('asset')} />,
  },
  'bursar-credit-grants': {
    attributes: ['asset', 'status'],
    render: (attribute) => (
      <CreditGrants
        asset={attribute('asset')}
        status={attribute('status') as Parameters<typeof CreditGrants>[0]['status']}
      />
    ),
  },
  'bursar-holds': { attributes: [], render: () => <Holds /> },
  'bursar-usage-chart': {
    attributes: ['granularity', 'feature', 'asset', 'days', 'hours', 'height'],
    render: (attribute) => (
      <UsageChart
        granularity={attribute('granularity') === 'hour' ? 'hour' : 'day'}
        feature={attribute('feature')}
        asset={attribute('asset')}
        days={numberAttribute(attribute('days'))}
        hours={numberAttribute(attribute('hours'))}
        height={numberAttribute(attribute('height'))}
      />
    ),
  },
  'bursar-transactions': {
    attributes: ['page-size'],
    render: (attribute) => <Transactions pageSize={numberAttribute(attribute('page-size'))} />,
  },
  'bursar-auto-recharge': {
    attributes: ['asset'],
    render: (attribute) => <AutoRecharge asset={attribute('asset')} />,
  },
};

const sharedAttributes = ['base-url', 'token', 'locale', 'messages'];

function parseMessages(text: string | undefined): Partial<Messages> | undefined {
  if (!text) return undefined;
  try {
    return JSON.parse(text) as Partial<Messages>;
  } catch {
    return undefined;
  }
}

function defineWidget(tag: string, widget: (typeof widgets)[string]) {
  class BursarWidgetElement extends HTMLElement {
    static observedAttributes = [...sharedAttributes, ...widget.attributes];
    #root: Root | null = null;
    #mount: HTMLDivElement | null = null;

    connectedCallback() {
      if (!this.#mount) {
        const shadow = this.shadowRoot ?? this.attachShadow({ mode: 'open' });
        const style = document.createElement('style');
        style.textContent = `:host { display: block; }\n${styles}`;
        this.#mount = document.createElement('div');
        shadow.append(style, this.#mount);
      }
      this.#root ??= createRoot(this.#mount);
      this.#render();
    }

    disconnectedCallback() {
      this.#root?.unmount();
      this.#root = null;
    }

    attributeChangedCallback() {
      this.#render();
    }

    #render() {
      if (!this.#root) return;
      const attribute: Attributes = (name) => this.getAttribute(name) ?? undefined;
      this.#root.render(
        <BursarProvider
          token={attribute('token')}
          baseUrl={attribute('base-url')}
          locale={attribute('locale')}
          messages={parseMessages(attribute('messages'))}
        >
          {widget.render(attribute)}
        </BursarProvider>,
      );
    }
  }
  if (!customElements.get(tag)) customElements.define(tag, BursarWidgetElement);
}

for (const [tag, widget] of Object.entries(widgets)) defineWidget(tag, widget);
