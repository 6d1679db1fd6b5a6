// Drives kbindex's MCP server with the official TypeScript SDK's client (pinned in
// package.json, installed by tools/setup): over stdio (`kbindex mcp`) or Streamable HTTP
// (`/mcp` on `kbindex serve`). Exits 1 on the first failed check. Run by
// tests/integration/mcp_sdk_test.cpp, which starts Chroma, indexes a folder and passes:
//   node mcp_sdk_test.mjs stdio                (env KBINDEX_BINARY, KBINDEX_DB, KBINDEX_CHROMA_URL)
//   node mcp_sdk_test.mjs http URL TOKEN_FILE
// Both modes expect the folder note FOLDER_NOTE_ID (env) to exist, with the word "lighthouse".
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CallToolResultSchema, LATEST_PROTOCOL_VERSION } from '@modelcontextprotocol/sdk/types.js';

const folderNote = process.env.FOLDER_NOTE_ID;
assert.ok(folderNote, 'FOLDER_NOTE_ID is not set');

function log(...args) { console.log('[mcp-sdk-test]', ...args); }

async function exercise(client, label) {
  const errors = [];
  client.onerror = (e) => errors.push(e);
  assert.equal(client.getServerVersion().name, 'kbindex');
  assert.ok(client.getServerCapabilities().tools, 'tools capability');
  assert.ok(client.getServerCapabilities().resources, 'resources capability');
  assert.ok(client.getInstructions().includes('search'), 'instructions');

  const { tools } = await client.listTools();
  const names = tools.map((t) => t.name).sort();
  assert.deepEqual(names, ['delete_note', 'get_note', 'index_status', 'put_note', 'search', 'sync']);
  for (const t of tools) {
    assert.equal(t.inputSchema.type, 'object', `${t.name} inputSchema`);
    assert.equal(t.outputSchema?.type, 'object', `${t.name} outputSchema`);
    assert.ok(t.description.length > 80, `${t.name} description`);
  }
  const text = (r) => r.content.filter((c) => c.type === 'text').map((c) => c.text).join('\n');
  // callTool validates structuredContent against the tool's outputSchema (the SDK's own check).
  const call = async (name, args, options) => {
    const r = await client.callTool({ name, arguments: args }, CallToolResultSchema, options);
    return r;
  };

  // put_note: a long note (truncation) with a word nothing else has.
  const id = `sdk/${label}-note`;
  const body = '# Unicorn ledger\n\nThe unicorn ledger lists every zebra crossing.\n' + 'filler line of text\n'.repeat(2000);
  let r = await call('put_note', { id, title: 'Unicorn ledger', body, metadata: { tags: ['sdk', label] } });
  assert.equal(r.isError, false, text(r));
  assert.ok(['created', 'updated', 'unchanged'].includes(r.structuredContent.result));
  assert.equal(r.structuredContent.uri, `kbindex://note/${id}`);

  // sync, with progress notifications.
  const progress = [];
  r = await call('sync', {}, { onprogress: (p) => progress.push(p) });
  assert.equal(r.isError, false, text(r));
  assert.equal(r.structuredContent.failed, 0, text(r));
  if (label === 'stdio') assert.ok(progress.length >= 1, 'progress notifications over stdio');

  // search: keyword, semantic, hybrid; each hit with id, title, snippet, score, sync status.
  r = await call('search', { query: 'unicorn ledger', mode: 'keyword', k: 5 });
  assert.equal(r.isError, false, text(r));
  let hit = r.structuredContent.results.find((h) => h.id === id);
  assert.ok(hit, `keyword search finds ${id}: ${text(r)}`);
  for (const f of ['id', 'title', 'snippet', 'score', 'syncStatus']) assert.ok(f in hit, f);
  assert.equal(hit.syncStatus, 'synced');
  r = await call('search', { query: 'unicorn ledger zebra crossing', mode: 'semantic', k: 5 });
  assert.equal(r.isError, false, text(r));
  assert.equal(r.structuredContent.degraded, false, text(r));
  assert.ok(r.structuredContent.results.some((h) => h.id === id), `semantic search finds ${id}: ${text(r)}`);
  r = await call('search', { query: 'lighthouse', mode: 'hybrid', k: 3 });
  assert.ok(r.structuredContent.results.some((h) => h.id === folderNote), `hybrid search finds ${folderNote}`);
  r = await call('search', { query: 'x', mode: 'fuzzy' });
  assert.equal(r.isError, true);
  assert.match(text(r), /keyword/);

  // get_note: a range, the marker and the next offset.
  r = await call('get_note', { id, length: 1000 });
  assert.equal(r.isError, false, text(r));
  assert.equal(r.structuredContent.truncated, true);
  assert.equal(r.structuredContent.nextOffset, r.structuredContent.end);
  assert.ok(r.structuredContent.end <= 1000);
  assert.match(text(r), /truncated: bytes 0-\d+ of \d+ shown/);
  const next = await call('get_note', { id, offset: r.structuredContent.nextOffset, length: 100000 });
  assert.equal(next.structuredContent.offset, r.structuredContent.end);
  assert.equal(r.structuredContent.text + next.structuredContent.text, body);
  assert.equal(next.structuredContent.truncated, false);
  r = await call('get_note', { id: folderNote });
  assert.equal(r.isError, false, text(r));
  assert.match(r.structuredContent.text, /lighthouse/);

  // Folder notes are the user's files: refused with the reason.
  r = await call('put_note', { id: folderNote, body: 'overwritten' });
  assert.equal(r.isError, true);
  assert.match(text(r), /belongs to folder source/);
  r = await call('delete_note', { id: folderNote });
  assert.equal(r.isError, true);
  assert.match(text(r), /delete the file/);

  // index_status: the stats contract and failures.
  r = await call('index_status', {});
  assert.equal(r.isError, false, text(r));
  assert.ok(r.structuredContent.stats.documents >= 2);
  assert.equal(r.structuredContent.stats.chroma.reachable, true, text(r));
  assert.ok(Array.isArray(r.structuredContent.failures));

  // Resources: the template, and a note read through it.
  const { resourceTemplates } = await client.listResourceTemplates();
  assert.equal(resourceTemplates[0].uriTemplate, 'kbindex://note/{id}');
  const read = await client.readResource({ uri: `kbindex://note/${folderNote}` });
  assert.match(read.contents[0].text, /lighthouse/);
  await assert.rejects(client.readResource({ uri: 'kbindex://note/no-such-note' }), (e) => e.code === -32002);

  // Protocol errors surface as JSON-RPC errors.
  await assert.rejects(client.callTool({ name: 'no_such_tool', arguments: {} }), (e) => e.code === -32602);
  await client.ping();

  // delete_note: gone from search at once.
  r = await call('delete_note', { id });
  assert.equal(r.isError, false, text(r));
  assert.equal(r.structuredContent.deleted, true);
  r = await call('search', { query: 'unicorn ledger', mode: 'keyword' });
  assert.ok(!r.structuredContent.results.some((h) => h.id === id), 'deleted note still found');
  r = await call('get_note', { id });
  assert.equal(r.isError, true);

  assert.deepEqual(errors, [], `client errors (non-protocol output?): ${errors.join('; ')}`);
  log(`${label}: every tool, the resource template and the errors work`);
}

async function stdio() {
  const transport = new StdioClientTransport({
    command: process.env.KBINDEX_BINARY,
    args: ['mcp', '-v'],  // debug logging: it must all go to stderr
    env: { KBINDEX_DB: process.env.KBINDEX_DB, KBINDEX_CHROMA_URL: process.env.KBINDEX_CHROMA_URL },
    stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr.on('data', (d) => { stderr += d; });
  const client = new Client({ name: 'kbindex-sdk-test', version: '1.0.0' });
  await client.connect(transport);
  await exercise(client, 'stdio');
  await client.close();
  assert.match(stderr, /mcp: .* asked for protocol "2025-11-25", speaking 2025-11-25/, 'negotiated the latest revision');
  assert.equal(LATEST_PROTOCOL_VERSION, '2025-11-25');
}

async function http(url, tokenFile) {
  const token = readFileSync(tokenFile, 'utf8').trim();
  const init = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize',
    params: { protocolVersion: LATEST_PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: 'raw', version: '1' } } });
  const base = { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream' };
  // Refused without the token, with a wrong one, and from a foreign Origin.
  let res = await fetch(url, { method: 'POST', headers: base, body: init });
  assert.equal(res.status, 401);
  res = await fetch(url, { method: 'POST', headers: { ...base, Authorization: 'Bearer not-the-token-at-all' }, body: init });
  assert.equal(res.status, 401);
  res = await fetch(url, { method: 'POST', headers: { ...base, Authorization: `Bearer ${token}`, Origin: 'https://evil.example' }, body: init });
  assert.equal(res.status, 403);
  res = await fetch(url, { method: 'GET', headers: { Authorization: `Bearer ${token}`, Accept: 'text/event-stream' } });
  assert.equal(res.status, 405);
  // The SDK client is refused the same way.
  await assert.rejects(new Client({ name: 't', version: '1' }).connect(new StreamableHTTPClientTransport(new URL(url))));
  await assert.rejects(new Client({ name: 't', version: '1' }).connect(new StreamableHTTPClientTransport(new URL(url),
    { requestInit: { headers: { Authorization: `Bearer ${token}`, Origin: 'https://evil.example' } } })));

  const transport = new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { Authorization: `Bearer ${token}` } } });
  const client = new Client({ name: 'kbindex-sdk-test', version: '1.0.0' });
  await client.connect(transport);
  assert.ok(transport.sessionId, 'a session id');
  assert.equal(transport.protocolVersion, LATEST_PROTOCOL_VERSION);
  await exercise(client, 'http');
  const sessionId = transport.sessionId;
  await transport.terminateSession();
  res = await fetch(url, { method: 'POST', headers: { ...base, Authorization: `Bearer ${token}`, 'Mcp-Session-Id': sessionId,
    'MCP-Protocol-Version': LATEST_PROTOCOL_VERSION }, body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'ping' }) });
  assert.equal(res.status, 404, 'an ended session is gone');
  await client.close();
  log('http: refusals, every tool and session end work');
}

const [mode, ...rest] = process.argv.slice(2);
try {
  if (mode === 'stdio') await stdio();
  else if (mode === 'http') await http(rest[0], rest[1]);
  else throw new Error(`usage: mcp_sdk_test.mjs stdio | http URL TOKEN_FILE (got ${mode})`);
  process.exit(0);
} catch (e) {
  console.error('[mcp-sdk-test] FAILED:', e?.stack ?? e);
  process.exit(1);
}
