/**
 * What each write tool's `preview: true` reads to say what the call would change: the API's own
 * dry run where there is one (`?dry_run=true` for grants, checkDebit for debits and holds,
 * quoteCost for a capture's event), otherwise the current state the call would change. A preview
 * only ever reads or dry-runs: nothing is written.
 */
import type { Bursar } from '@bursar/sdk';
import { BursarError } from '@bursar/sdk';

/** The raw arguments of the call being previewed, without `preview` and `idempotency_key`. */
type Arguments = Readonly<Record<string, unknown>>;

export interface PreviewFindings {
  /** One plain sentence: what the call would do, or why it would be refused. */
  readonly wouldChange: string;
  /** The state the call would change, as read now (null: it does not exist yet). */
  readonly current: Readonly<Record<string, unknown>>;
  /** The API's dry run of the same request, when it has one. */
  readonly dryRun?: unknown;
}

export type Preview = (bursar: Bursar, args: Arguments) => Promise<PreviewFindings>;

/** The read's answer, or null when what it reads does not exist (a 404 problem). */
async function orNull<T>(read: Promise<T>): Promise<T | null> {
  try {
    return await read;
  } catch (error) {
    if (error instanceof BursarError && error.status === 404) return null;
    throw error;
  }
}

/** Only the named fields that were given, so a dry run sees the request as sent. */
function pick(args: Arguments, names: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(names.filter((name) => args[name] !== undefined).map((name) => [name, args[name]]));
}

const text = (value: unknown) => String(value);

/** A debit or a hold: checkDebit is the API's dry run of both (the same consumption order). */
function drawPreview(verb: string): Preview {
  return async (bursar, args) => {
    const check = await bursar.checkDebit(
      pick(args, ['customer', 'asset', 'amount', 'feature', 'quantities', 'metadata']) as Parameters<
        Bursar['checkDebit']
      >[0],
    );
    const wouldChange = check.allowed
      ? `${verb} ${check.amount} ${check.asset} of customer "${text(args.customer)}" (available now ${check.available}), drawn from the grants in dry_run.draws.`
      : `Refused: customer "${text(args.customer)}" has ${check.available} ${check.asset} available, ${check.shortfall} short of ${check.amount}; nothing would change.`;
    return { wouldChange, current: { balance: check.balance }, dryRun: check };
  };
}

const holdPreview = drawPreview('Reserves (spends nothing until capture)');
const debitPreview = drawPreview('Spends');

const extendPreview: Preview = async (bursar, args) => {
  const hold = await bursar.getHold({ id: text(args.id) });
  const parts: string[] = [];
  let dryRun: unknown;
  if (args.amount !== undefined) {
    const check = await bursar.checkDebit({
      customer: hold.customer,
      asset: hold.asset,
      amount: args.amount as string,
      ...(hold.feature === null ? {} : { feature: hold.feature }),
    });
    dryRun = check;
    parts.push(
      check.allowed
        ? `adds ${check.amount} ${hold.asset} to the ${hold.amount} held`
        : `is refused: ${check.shortfall} ${hold.asset} short of the ${check.amount} to add`,
    );
  }
  if (args.ttl_seconds !== undefined)
    parts.push(`moves the expiry from ${hold.expires_at} to ${text(args.ttl_seconds)} seconds after the call`);
  const wouldChange =
    hold.status === 'open'
      ? `Hold ${hold.id} ${parts.join(' and ') || 'keeps its amount and expiry'}.`
      : `Refused: hold ${hold.id} is ${hold.status}; nothing would change.`;
  return { wouldChange, current: { hold }, ...(dryRun === undefined ? {} : { dryRun }) };
};

const capturePreview: Preview = async (bursar, args) => {
  const hold = await bursar.getHold({ id: text(args.id) });
  if (hold.status !== 'open') {
    return { wouldChange: `Refused: hold ${hold.id} is ${hold.status}; nothing would change.`, current: { hold } };
  }
  const event = args.event as
    | { properties?: Record<string, string | number | boolean>; timestamp?: string }
    | undefined;
  if (event !== undefined && hold.feature === null) {
    return {
      wouldChange: `Refused: hold ${hold.id} names no feature to price the event by; nothing would change.`,
      current: { hold },
    };
  }
  if (event !== undefined && hold.feature !== null) {
    const quote = await bursar.quoteCost({
      feature: hold.feature,
      customer: hold.customer,
      ...pick(event, ['properties', 'timestamp']),
    });
    const cost = quote.options.find((option) => option.asset === hold.asset)?.cost;
    const priced = cost === undefined ? 'its price (dry_run)' : `its price, ${cost} ${hold.asset},`;
    return {
      wouldChange: `Records the event, captures ${priced} from hold ${hold.id} of ${hold.amount} ${hold.asset}, releases the rest and ends the hold.`,
      current: { hold },
      dryRun: quote,
    };
  }
  const amount = args.amount === undefined ? hold.amount : text(args.amount);
  return {
    wouldChange: `Captures ${amount} ${hold.asset} from hold ${hold.id} of ${hold.amount} (an amount beyond the hold is ${args.on_excess === 'draw' ? 'drawn from the wallet' : 'refused'}), releases the rest and ends the hold.`,
    current: { hold },
  };
};

const releasePreview: Preview = async (bursar, args) => {
  const hold = await bursar.getHold({ id: text(args.id) });
  return {
    wouldChange:
      hold.status === 'open'
        ? `Releases all ${hold.amount} ${hold.asset} of hold ${hold.id} back to customer "${hold.customer}" and ends the hold; nothing is spent.`
        : `Refused: hold ${hold.id} is ${hold.status}; nothing would change.`,
    current: { hold },
  };
};

/** A create whose target is keyed by the request: it either exists already (refused) or is new. */
function createPreview(what: string, key: string, read: (bursar: Bursar, key: string) => Promise<unknown>): Preview {
  return async (bursar, args) => {
    const existing = await orNull(read(bursar, text(args[key])));
    return {
      wouldChange:
        existing === null
          ? `Creates ${what} "${text(args[key])}" as in would_send.body.`
          : `Refused: ${what} "${text(args[key])}" exists (current.existing); nothing would change.`,
      current: { existing },
    };
  };
}

const assetPreview = createPreview('asset', 'code', async (bursar, code) => {
  for await (const asset of bursar.listAssets.all()) if (asset.code === code) return asset;
  return null;
});
const customerPreview = createPreview('customer', 'id', (bursar, id) => bursar.getCustomer({ customer: id }));
const featurePreview = createPreview('feature', 'key', (bursar, key) => bursar.getFeature({ key }));
const priceBookPreview = createPreview('price book', 'key', (bursar, key) => bursar.getPriceBook({ key }));
const planPreview = createPreview('plan', 'id', (bursar, plan) => bursar.getPlan({ plan }));

const priceVersionPreview: Preview = async (bursar, args) => {
  const book = await bursar.getPriceBook({ key: text(args.key) });
  return {
    wouldChange: `Publishes a new version of price book "${book.key}" effective ${args.effective_from === undefined ? 'now' : `from ${text(args.effective_from)}`}; its ${book.versions.length} existing version(s) stay as they are.`,
    current: { price_book: book },
  };
};

const planVersionPreview: Preview = async (bursar, args) => {
  const plan = await bursar.getPlan({ plan: text(args.plan) });
  return {
    wouldChange: `Publishes version ${plan.versions.length + 1} of plan "${plan.id}"; existing subscriptions keep their version.`,
    current: { plan },
  };
};

const modelPricePreview: Preview = async (bursar, args) => {
  const prices = [];
  for await (const price of bursar.listModelPrices.all()) if (price.model === args.model) prices.push(price);
  const from = args.effective_from === undefined ? 'now' : `from ${text(args.effective_from)}`;
  return {
    wouldChange: `Sets the token prices of model "${text(args.model)}" ${from}; ${prices.length === 0 ? 'the model has no price yet' : `its ${prices.length} earlier price(s) keep applying before that`}.`,
    current: { model_prices: prices },
  };
};

const subscriptionPreview: Preview = async (bursar, args) => {
  const customer = text(args.customer);
  const [plan, existing] = await Promise.all([
    orNull(bursar.getPlan({ plan: text(args.plan) })),
    orNull(bursar.listSubscriptions({ customer })),
  ]);
  const version = args.version ?? plan?.versions.at(-1)?.version;
  return {
    wouldChange:
      plan === null
        ? `Refused: there is no plan "${text(args.plan)}"; nothing would change.`
        : `Subscribes customer "${customer}" to plan "${plan.id}" version ${text(version)}, issuing that version's allowances for the first period.`,
    current: { plan, subscriptions: existing?.data ?? [] },
  };
};

/** createGrant has the API's own dry run: the grant as it would be made, and the balance before and after. */
const grantPreview: Preview = async (bursar, args) => {
  const customer = text(args.customer);
  try {
    const dryRun = await bursar.createGrant.dryRun(args as Parameters<Bursar['createGrant']>[0]);
    return {
      wouldChange: `Grants ${text(args.amount)} ${text(args.asset)} to customer "${customer}"${args.expires_at === undefined ? '' : `, expiring ${text(args.expires_at)}`}.`,
      current: { balances: dryRun.balances_before },
      dryRun,
    };
  } catch (error) {
    // A refusal of the dry run is the refusal the call would get.
    if (!(error instanceof BursarError) || error.status >= 500) throw error;
    return { wouldChange: `Refused: ${error.detail} Nothing would change.`, current: { balances: null } };
  }
};

const webhookEndpointPreview: Preview = async (bursar, args) => {
  const endpoints = [];
  for await (const endpoint of bursar.listWebhookEndpoints.all()) endpoints.push(endpoint);
  return {
    wouldChange: `Registers ${text(args.url)} for ${Array.isArray(args.event_types) ? args.event_types.join(', ') : 'every event type'}; the answer shows its signing secret once.`,
    current: { webhook_endpoints: endpoints },
  };
};

export const previews = {
  holdPreview,
  debitPreview,
  extendPreview,
  capturePreview,
  releasePreview,
  assetPreview,
  customerPreview,
  featurePreview,
  priceBookPreview,
  priceVersionPreview,
  modelPricePreview,
  planPreview,
  planVersionPreview,
  subscriptionPreview,
  grantPreview,
  webhookEndpointPreview,
} as const;
