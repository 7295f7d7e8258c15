/**
 * The browsable API reference at /docs, rendered once from the OpenAPI document into one HTML page
 * with no script and nothing fetched from elsewhere, so it can be served under a CSP that allows
 * only its own inline style (pinned by hash).
 */
import { createHash } from 'node:crypto';
import type { JsonSchema, OpenApiDocument, OpenApiOperation, OpenApiWebhook } from './openapi.ts';

const style = `
body{font:15px/1.5 system-ui,sans-serif;margin:0 auto;max-width:70rem;padding:1rem 2rem;color:#1d2330}
h1{margin-bottom:0}h2{border-bottom:2px solid #d8dce6;margin-top:2.5rem}
nav a{margin-right:1rem}
section.operation{border:1px solid #d8dce6;border-radius:6px;margin:1rem 0;padding:.5rem 1rem}
.method{font:bold 13px monospace;padding:2px 6px;border-radius:4px;color:#fff;background:#2f6fdb}
.method.post{background:#17703d}
code,pre{font:13px/1.4 ui-monospace,monospace}
pre{background:#f4f6fa;padding:.6rem;overflow:auto;max-height:28rem}
.scope{font-size:13px;color:#5a6275}
table{border-collapse:collapse}td,th{border:1px solid #d8dce6;padding:2px 8px;text-align:left;font-size:14px}
`.trim();

export const docsContentSecurityPolicy = [
  "default-src 'none'",
  `style-src 'sha256-${createHash('sha256').update(style).digest('base64')}'`,
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

function toAnchor(kind: 'operation' | 'schema' | 'tag', name: string): string {
  return `${kind}-${name.replace(/[^A-Za-z0-9_-]/g, '-')}`;
}

/** Pretty JSON with every component reference turned into a link to that schema on this page. */
function renderSchema(schema: JsonSchema): string {
  const escaped = escapeHtml(JSON.stringify(schema, null, 2));
  const linked = escaped.replace(/&quot;#\/components\/schemas\/([A-Za-z0-9_]+)&quot;/g, (_match, name: string) => {
    return `&quot;<a href="#${toAnchor('schema', name)}">#/components/schemas/${name}</a>&quot;`;
  });
  return `<pre tabindex="0">${linked}</pre>`;
}

function renderOperation(method: string, path: string, operation: OpenApiOperation): string {
  const scope = operation['x-bursar-scope'];
  const parts = [
    `<section class="operation" id="${toAnchor('operation', operation.operationId)}">`,
    `<h3><span class="method ${escapeHtml(method)}">${escapeHtml(method.toUpperCase())}</span> <code>${escapeHtml(path)}</code></h3>`,
    `<p>${escapeHtml(operation.summary)}</p>`,
    `<p class="scope">operationId <code>${escapeHtml(operation.operationId)}</code> · `,
    scope === undefined ? 'no API key needed</p>' : `scope <code>${escapeHtml(scope)}</code></p>`,
  ];
  if (operation.parameters.length > 0) {
    parts.push('<table><tr><th>parameter</th><th>in</th><th>required</th><th>schema</th></tr>');
    for (const parameter of operation.parameters) {
      const note = parameter.description === undefined ? '' : `<br>${escapeHtml(parameter.description)}`;
      parts.push(
        `<tr><td><code>${escapeHtml(parameter.name)}</code></td><td>${parameter.in}</td><td>${parameter.required ? 'yes' : 'no'}</td>`,
        `<td><code>${escapeHtml(JSON.stringify(parameter.schema))}</code>${note}</td></tr>`,
      );
    }
    parts.push('</table>');
  }
  const body = operation.requestBody?.content['application/json'];
  if (body !== undefined) parts.push('<h4>Request body</h4>', renderSchema(body.schema));
  for (const [status, response] of Object.entries(operation.responses)) {
    const content = Object.entries(response.content ?? {})[0];
    parts.push(
      `<h4>${escapeHtml(status)} · ${escapeHtml(response.description)}${content === undefined ? '' : ` · <code>${escapeHtml(content[0])}</code>`}</h4>`,
    );
    if (content !== undefined) parts.push(renderSchema(content[1].schema));
  }
  parts.push('</section>');
  return parts.join('');
}

/** A lifecycle event: what the endpoint receives, and its payload's schema. */
function renderWebhook(type: string, webhook: OpenApiWebhook): string {
  const payload = webhook.post.requestBody.content['application/json'];
  return [
    `<section class="operation" id="${toAnchor('operation', type)}">`,
    `<h3><span class="method post">POST</span> <code>${escapeHtml(type)}</code></h3>`,
    `<p>${escapeHtml(webhook.post.summary)}</p>`,
    payload === undefined ? '' : renderSchema(payload.schema),
    '</section>',
  ].join('');
}

export function renderDocsPage(document: OpenApiDocument): string {
  const byTag = new Map<string, string[]>(document.tags.map((tag) => [tag.name, []]));
  for (const [path, methods] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(methods)) {
      const tag = operation.tags[0] ?? 'Other';
      const sections = byTag.get(tag) ?? [];
      sections.push(renderOperation(method, path, operation));
      byTag.set(tag, sections);
    }
  }
  const webhooks = Object.entries(document.webhooks).map(([type, webhook]) => renderWebhook(type, webhook));
  // Tags that name only webhook events (listed in their own section) have no operation here.
  for (const [tag, sections] of byTag) if (sections.length === 0) byTag.delete(tag);
  const nav = [...byTag.keys()].map((tag) => `<a href="#${toAnchor('tag', tag)}">${escapeHtml(tag)}</a>`).join('');
  const tags = [...byTag.entries()].map(
    ([tag, sections]) => `<h2 id="${toAnchor('tag', tag)}">${escapeHtml(tag)}</h2>${sections.join('')}`,
  );
  const schemas = Object.entries(document.components.schemas).map(
    ([name, schema]) => `<h3 id="${toAnchor('schema', name)}">${escapeHtml(name)}</h3>${renderSchema(schema)}`,
  );
  return [
    '<!doctype html><html lang="en"><head><meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(document.info.title)} API reference</title><style>${style}</style></head><body>`,
    `<h1>${escapeHtml(document.info.title)} API <small>${escapeHtml(document.info.version)}</small></h1>`,
    `<p>${escapeHtml(document.info.description)}</p>`,
    `<p>Machine-readable: <a href="/openapi.json">/openapi.json</a> (OpenAPI ${escapeHtml(document.openapi)}).</p>`,
    `<nav>${nav}<a href="#webhooks">Webhook events</a><a href="#schemas">Schemas</a></nav>`,
    ...tags,
    `<h2 id="webhooks">Webhook events</h2><p>POSTed to every endpoint subscribed to their type.</p>${webhooks.join('')}`,
    '<h2 id="schemas">Schemas</h2>',
    ...schemas,
    '</body></html>',
  ].join('\n');
}
