/**
 * A stand-in for api.stripe.com on 127.0.0.1 for tests: answers the few endpoints Bursar calls in
 * Stripe's documented response shapes, replays a repeated Idempotency-Key's first answer as Stripe
 * does, records every request, and signs webhook events with the SDK's test-header helper.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import Stripe from 'stripe';

const stripeSecretKey = 'sk_test_bursar_fake';
const stripeWebhookSecret = 'whsec_bursar_fake';

/** Test payment methods named like Stripe's test cards (https://docs.stripe.com/testing). */
export const paymentMethods = {
  visa: 'pm_card_visa',
  declined: 'pm_card_visa_chargeDeclinedInsufficientFunds',
  authenticationRequired: 'pm_card_authenticationRequired',
} as const;

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly idempotencyKey: string | null;
  /** The form-encoded body, by Stripe's bracketed key (`metadata[bursar_customer]`). */
  readonly form: Readonly<Record<string, string>>;
}

interface Answer {
  readonly status: number;
  readonly body: unknown;
}

export class FakeStripe {
  readonly requests: RecordedRequest[] = [];
  readonly #server: Server;
  readonly #customers = new Map<string, { id: string; default_payment_method: string | null; metadata: object }>();
  readonly #replies = new Map<string, Answer>();
  readonly #signer = new Stripe(stripeSecretKey);
  #sequence = 0;
  /** PaymentIntents of Checkout payments (made by the Checkout page, not by Bursar) and the card each saved. */
  readonly checkoutPaymentMethods = new Map<string, string>();
  /** Set by a test: the next PaymentIntent is created and then never answered (the server is killed meanwhile). */
  hangNextPaymentIntent = false;
  url = '';

  constructor() {
    this.#server = createServer((request, response) => this.#onRequest(request, response));
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise((resolve) => this.#server.close(resolve));
  }

  /** The settings that point Bursar at this server. */
  config() {
    return { stripeSecretKey, stripeWebhookSecret, stripeApiBase: this.url };
  }

  env(): Record<string, string> {
    return {
      BURSAR_STRIPE_SECRET_KEY: stripeSecretKey,
      BURSAR_STRIPE_WEBHOOK_SECRET: stripeWebhookSecret,
      BURSAR_STRIPE_API_BASE: this.url,
    };
  }

  /** A customer that exists in "Stripe" already, as one an integrator would attach. */
  addCustomer(defaultPaymentMethod: string | null = null): string {
    const id = `cus_${this.#next()}`;
    this.#customers.set(id, { id, default_payment_method: defaultPaymentMethod, metadata: {} });
    return id;
  }

  setDefaultPaymentMethod(customer: string, paymentMethod: string): void {
    const found = this.#customers.get(customer);
    if (found === undefined) throw new Error(`no fake customer ${customer}`);
    found.default_payment_method = paymentMethod;
  }

  /** PaymentIntents actually created (a replayed idempotency key creates none). */
  paymentIntentsCreated(): number {
    return [...this.#replies.values()].filter(
      (answer) => (answer.body as { object?: string }).object === 'payment_intent',
    ).length;
  }

  /** A webhook delivery: the event's JSON and its Stripe-Signature header (`secret` to forge a bad one). */
  signedEvent(
    id: string,
    type: string,
    object: Record<string, unknown>,
    secret = stripeWebhookSecret,
  ): { body: string; signature: string } {
    const body = JSON.stringify({
      id,
      object: 'event',
      api_version: '2026-10-28.endive',
      created: Math.floor(Date.now() / 1000),
      type,
      livemode: false,
      pending_webhooks: 1,
      request: { id: null, idempotency_key: null },
      data: { object },
    });
    return { body, signature: this.#signer.webhooks.generateTestHeaderString({ payload: body, secret }) };
  }

  /** The customer's Stripe customer, as Bursar linked it (from the recorded Checkout Session request). */
  stripeCustomerOfCheckout(sessionCustomer: string): { default_payment_method: string | null } | undefined {
    return this.#customers.get(sessionCustomer);
  }

  /** A Checkout Session object as Stripe sends it in events, after the customer paid (or not). */
  checkoutSession(
    id: string,
    fields: {
      payment_status: 'paid' | 'unpaid';
      amount_total: number;
      currency: string;
      payment_intent: string | null;
    },
  ): Record<string, unknown> {
    return {
      id,
      object: 'checkout.session',
      mode: 'payment',
      status: fields.payment_status === 'paid' ? 'complete' : 'open',
      url: null,
      metadata: {},
      ...fields,
    };
  }

  /** A Charge object as `charge.refunded` carries it. */
  charge(paymentIntent: string, fields: { amount: number; amount_refunded: number; metadata?: object }) {
    return {
      id: `ch_${this.#next()}`,
      object: 'charge',
      payment_intent: paymentIntent,
      currency: 'usd',
      refunded: fields.amount_refunded === fields.amount,
      metadata: fields.metadata ?? {},
      ...fields,
    };
  }

  #next(): string {
    this.#sequence += 1;
    return `fake${String(this.#sequence).padStart(6, '0')}`;
  }

  #onRequest(request: IncomingMessage, response: ServerResponse): void {
    let text = '';
    request.on('data', (chunk: Buffer) => {
      text += chunk.toString();
    });
    request.on('end', () => {
      const path = (request.url ?? '/').split('?')[0] ?? '/';
      const header = request.headers['idempotency-key'];
      const idempotencyKey = typeof header === 'string' ? header : null;
      const form = Object.fromEntries(new URLSearchParams(text));
      this.requests.push({ method: request.method ?? '', path, idempotencyKey, form });
      const replayKey = idempotencyKey === null ? null : `${request.method} ${path} ${idempotencyKey}`;
      const replay = replayKey === null ? undefined : this.#replies.get(replayKey);
      const hang = path === '/v1/payment_intents' && this.hangNextPaymentIntent && replay === undefined;
      const answer = replay ?? this.#answer(request.method ?? '', path, form);
      if (replayKey !== null && replay === undefined && answer.status < 500) this.#replies.set(replayKey, answer);
      if (hang) {
        this.hangNextPaymentIntent = false;
        return; // charged, never answered
      }
      response.writeHead(answer.status, {
        'content-type': 'application/json',
        'request-id': `req_${this.#next()}`,
        ...(replay === undefined ? {} : { 'idempotent-replayed': 'true' }),
      });
      response.end(JSON.stringify(answer.body));
    });
  }

  #answer(method: string, path: string, form: Record<string, string>): Answer {
    if (method === 'POST' && path === '/v1/customers') {
      const id = `cus_${this.#next()}`;
      const customer = { id, default_payment_method: null, metadata: metadataOf(form) };
      this.#customers.set(id, customer);
      return { status: 200, body: customerBody(customer) };
    }
    const customerPath = /^\/v1\/customers\/([^/]+)$/.exec(path);
    if (method === 'POST' && customerPath !== null) {
      const customer = this.#customers.get(customerPath[1] ?? '');
      if (customer === undefined) return missing(`No such customer: '${customerPath[1]}'`, 'customer');
      const paymentMethod = form['invoice_settings[default_payment_method]'];
      if (paymentMethod !== undefined) customer.default_payment_method = paymentMethod;
      return { status: 200, body: customerBody(customer) };
    }
    const intentPath = /^\/v1\/payment_intents\/([^/]+)$/.exec(path);
    if (method === 'GET' && intentPath !== null) {
      const id = intentPath[1] ?? '';
      const paymentMethod = this.checkoutPaymentMethods.get(id) ?? null;
      return {
        status: 200,
        body: { id, object: 'payment_intent', status: 'succeeded', payment_method: paymentMethod },
      };
    }
    if (method === 'GET' && customerPath !== null) {
      const customer = this.#customers.get(customerPath[1] ?? '');
      return customer === undefined
        ? missing(`No such customer: '${customerPath[1]}'`, 'customer')
        : { status: 200, body: customerBody(customer) };
    }
    if (method === 'POST' && path === '/v1/checkout/sessions') {
      const id = `cs_test_${this.#next()}`;
      return {
        status: 200,
        body: {
          id,
          object: 'checkout.session',
          mode: 'payment',
          status: 'open',
          payment_status: 'unpaid',
          url: `https://checkout.stripe.com/c/pay/${id}`,
          customer: form.customer ?? null,
          currency: form['line_items[0][price_data][currency]'] ?? null,
          amount_total: Number(form['line_items[0][price_data][unit_amount]'] ?? 0),
          payment_intent: null,
          success_url: form.success_url,
          cancel_url: form.cancel_url,
          metadata: metadataOf(form),
        },
      };
    }
    if (method === 'POST' && path === '/v1/payment_intents') return this.#paymentIntent(form);
    if (method === 'POST' && path === '/v1/invoiceitems') {
      return {
        status: 200,
        body: {
          id: `ii_${this.#next()}`,
          object: 'invoiceitem',
          amount: Number(form.amount),
          currency: form.currency,
          customer: form.customer,
          description: form.description ?? null,
          invoice: null,
          metadata: metadataOf(form),
        },
      };
    }
    return missing(`Unrecognized request URL (${method}: ${path}).`, null);
  }

  #paymentIntent(form: Record<string, string>): Answer {
    const id = `pi_${this.#next()}`;
    const amount = Number(form.amount);
    const intent = {
      id,
      object: 'payment_intent',
      amount,
      amount_received: 0,
      currency: form.currency,
      customer: form.customer,
      payment_method: form.payment_method,
      status: 'requires_payment_method',
      metadata: metadataOf(form),
    };
    if (form.payment_method === paymentMethods.declined) {
      return cardError(intent, 'card_declined', 'insufficient_funds', 'Your card has insufficient funds.');
    }
    if (form.payment_method === paymentMethods.authenticationRequired) {
      return cardError(
        { ...intent, status: 'requires_action' },
        'authentication_required',
        'authentication_required',
        'Your card was declined. This transaction requires authentication.',
      );
    }
    return { status: 200, body: { ...intent, status: 'succeeded', amount_received: amount } };
  }
}

function metadataOf(form: Record<string, string>): Record<string, string> {
  const metadata: Record<string, string> = {};
  for (const [key, value] of Object.entries(form)) {
    const match = /^metadata\[(.+)\]$/.exec(key);
    if (match?.[1] !== undefined) metadata[match[1]] = value;
  }
  return metadata;
}

function customerBody(customer: { id: string; default_payment_method: string | null; metadata: object }) {
  return {
    id: customer.id,
    object: 'customer',
    livemode: false,
    metadata: customer.metadata,
    invoice_settings: { default_payment_method: customer.default_payment_method, custom_fields: null, footer: null },
  };
}

function missing(message: string, param: string | null): Answer {
  return {
    status: 404,
    body: { error: { type: 'invalid_request_error', code: 'resource_missing', message, ...(param ? { param } : {}) } },
  };
}

function cardError(intent: object, code: string, declineCode: string, message: string): Answer {
  return {
    status: 402,
    body: { error: { type: 'card_error', code, decline_code: declineCode, message, payment_intent: intent } },
  };
}
