/** The project's docs (docs/*.md) as MCP resources, `bursar://docs/<name>`, read from disk when asked. */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';

const repositoryDocs = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../../docs');

/** The first heading of a Markdown file, as its title. */
function titleOf(text: string, fallback: string): string {
  return /^#\s+(.+)$/m.exec(text)?.[1]?.trim() ?? fallback;
}

export function registerDocs(mcp: McpServer, directory: string = repositoryDocs): void {
  const names = readdirSync(directory)
    .filter((file) => file.endsWith('.md'))
    .sort();
  for (const file of names) {
    const name = file.slice(0, -'.md'.length);
    const filePath = path.join(directory, file);
    const uri = `bursar://docs/${name}`;
    mcp.registerResource(
      `docs/${name}`,
      uri,
      { title: titleOf(readFileSync(filePath, 'utf8'), name), mimeType: 'text/markdown' },
      async () => ({ contents: [{ uri, mimeType: 'text/markdown', text: readFileSync(filePath, 'utf8') }] }),
    );
  }
}
