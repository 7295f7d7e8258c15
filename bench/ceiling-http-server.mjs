// Bare node:http server answering POST /debit with a small JSON reply: the HTTP ceiling Bursar is compared against.
//
// Plain .mjs on purpose: it runs in its own process with no loader and no framework, so the number it gives
// is node:http + JSON.parse + JSON.stringify and nothing else. The parent (bench/ceilings.ts) forks it with an
// IPC channel, receives `{ port }`, and kills it when done; the child also exits by itself when the channel
// closes (parent gone) or after a hard lifetime, so it can never outlive a crashed benchmark for long.
import http from 'node:http';

const MAX_BODY_BYTES = 64 * 1024;
const lifetimeS = Number(process.argv[2] ?? '300');

let seq = 0;
// Counts down so the reply carries a changing balance, like a real debit response would.
let balance = 1_000_000_000_000;

/** @param {http.ServerResponse} res @param {number} status @param {string} json */
function reply(res, status, json) {
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) });
  res.end(json);
}

const server = http.createServer((req, res) => {
  if (req.method !== 'POST' || req.url !== '/debit') {
    reply(res, 404, '{"error":"not_found"}');
    return;
  }
  /** @type {Buffer[]} */
  const chunks = [];
  let size = 0;
  let tooLarge = false;
  req.on('data', (chunk) => {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) {
      tooLarge = true;
      return;
    }
    chunks.push(chunk);
  });
  req.on('end', () => {
    if (tooLarge) {
      reply(res, 413, '{"error":"body_too_large"}');
      return;
    }
    let body;
    try {
      body = JSON.parse((chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)).toString('utf8'));
    } catch {
      reply(res, 400, '{"error":"invalid_json"}');
      return;
    }
    // The "couple of fields" a debit endpoint must check before doing anything.
    if (
      body === null ||
      typeof body !== 'object' ||
      typeof body.wallet_id !== 'string' ||
      typeof body.amount !== 'string' ||
      !/^[1-9][0-9]{0,17}$/.test(body.amount)
    ) {
      reply(res, 400, '{"error":"invalid_request"}');
      return;
    }
    const key = req.headers['idempotency-key'];
    seq += 1;
    balance -= Number(body.amount);
    reply(
      res,
      200,
      JSON.stringify({
        id: `txn_${seq.toString().padStart(16, '0')}`,
        wallet_id: body.wallet_id,
        amount: body.amount,
        balance_after: String(balance),
        status: 'committed',
        idempotency_key: typeof key === 'string' ? key : null,
        created_at: new Date().toISOString(),
      }),
    );
  });
});

server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  process.send?.({ port });
});

// Exit when the parent goes away or after the hard lifetime, whichever comes first.
process.on('disconnect', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
setTimeout(() => process.exit(0), lifetimeS * 1000).unref();
