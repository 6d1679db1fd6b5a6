#!/usr/bin/env node
// Builds a relevance query set from real documents on this machine: the section-2 man pages
// (Debian's manpages-dev). Each page is rendered to plain text without its NAME section and
// written as OUT/pages/<page>.txt; its NAME line's one-line description becomes the query whose
// answer is that page. Pages that are links to others, and descriptions shared by several
// pages, are left out (their answer would be ambiguous). Writes OUT/queries.json:
//   [{"query": "read from a file descriptor", "expected": "read.txt"}, ...]
// Usage: node tools/relevance_corpus.mjs OUT [MANDIR]   (MANDIR: /usr/share/man/man2)
import { execFile } from "node:child_process";
import { mkdirSync, readdirSync, lstatSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);
const [out, mandir = "/usr/share/man/man2"] = process.argv.slice(2);
if (!out) {
  console.error("usage: relevance_corpus.mjs OUT [MANDIR]");
  process.exit(2);
}
mkdirSync(join(out, "pages"), { recursive: true });

let files;
try {
  files = readdirSync(mandir).filter((f) => /\.2[a-z]*(\.gz)?$/.test(f) && !lstatSync(join(mandir, f)).isSymbolicLink());
} catch (e) {
  console.error(`relevance_corpus: cannot read ${mandir} (${e.message}); install manpages-dev (tools/setup does)`);
  process.exit(1);
}

async function render(file) {
  const path = join(mandir, file);
  const cat = file.endsWith(".gz") ? `zcat -- '${path}'` : `cat -- '${path}'`;
  const { stdout } = await run("sh", ["-c", `${cat} | groff -t -man -Tutf8 -P-cbou -rLL=80n 2>/dev/null`], {
    maxBuffer: 64 << 20,
  });
  return stdout;
}

// NAME's text (joined lines) and the page without that section.
function split(text) {
  const lines = text.split("\n");
  const start = lines.findIndex((l) => l.trim() === "NAME");
  if (start < 0) return null;
  let end = start + 1;
  while (end < lines.length && !/^[A-Z]/.test(lines[end])) end++;
  const name = lines.slice(start + 1, end).join(" ").replace(/\s+/g, " ").trim();
  const dash = name.indexOf(" - ");
  if (dash < 0) return null;
  return { description: name.slice(dash + 3).trim(), body: [...lines.slice(0, start), ...lines.slice(end)].join("\n") };
}

const pages = [];
let next = 0;
async function worker() {
  while (next < files.length) {
    const file = files[next++];
    const text = await render(file).catch(() => "");
    if (text.split("\n").length < 15) continue;  // a ".so" redirect, or nothing
    const page = split(text);
    if (page && page.description.length >= 8) pages.push({ file, ...page });
  }
}
await Promise.all([worker(), worker()]);

const seen = new Map();
for (const p of pages) seen.set(p.description.toLowerCase(), (seen.get(p.description.toLowerCase()) ?? 0) + 1);
const queries = [];
for (const p of pages.sort((a, b) => a.file.localeCompare(b.file))) {
  const name = p.file.replace(/\.2[a-z]*(\.gz)?$/, "") + ".txt";
  writeFileSync(join(out, "pages", name), p.body);
  if (seen.get(p.description.toLowerCase()) === 1) queries.push({ query: p.description, expected: name });
}
writeFileSync(join(out, "queries.json"), JSON.stringify(queries, null, 1) + "\n");
console.error(`relevance_corpus: ${pages.length} pages, ${queries.length} queries in ${out}`);
