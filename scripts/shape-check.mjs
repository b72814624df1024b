// Checks the daemon's shape: no import circles, no source file over 400 lines, no function over 60.
// Usage: node scripts/shape-check.mjs [dir=daemon]. Exits 1 and says what is wrong.
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

const root = process.argv[2] ?? 'daemon';
const MAX_FILE = 400;
const MAX_FUNCTION = 60;
/** Functions that are data (a document, a schema): long by nature. */
const DATA = [/^daemon\/store\/migrations\//];
const files = [];
(function walk(d) {
  for (const e of fs.readdirSync(d, { withFileTypes: true })) {
    const p = path.join(d, e.name);
    if (e.isDirectory()) walk(p);
    else if (p.endsWith('.ts')) files.push(p);
  }
})(root);

const resolve = (from, spec) => {
  const base = path.resolve(path.dirname(from), spec);
  for (const c of [`${base}.ts`, path.join(base, 'index.ts')]) if (fs.existsSync(c)) return path.relative('.', c);
  return undefined;
};

const problems = [];
const graph = new Map();
for (const f of files) {
  const text = fs.readFileSync(f, 'utf8');
  const lines = text.split('\n').length;
  if (lines > MAX_FILE) problems.push(`${f}: ${lines} lines (over ${MAX_FILE})`);
  const src = ts.createSourceFile(f, text, ts.ScriptTarget.Latest, true);
  const deps = new Set();
  const visit = (n) => {
    if (
      (ts.isImportDeclaration(n) || ts.isExportDeclaration(n)) &&
      n.moduleSpecifier &&
      ts.isStringLiteral(n.moduleSpecifier) &&
      n.moduleSpecifier.text.startsWith('.')
    ) {
      const r = resolve(f, n.moduleSpecifier.text);
      if (r && r.startsWith(root)) deps.add(r);
    }
    if (ts.isFunctionLike(n) && 'body' in n && n.body) {
      const start = src.getLineAndCharacterOfPosition(n.getStart()).line;
      const end = src.getLineAndCharacterOfPosition(n.end).line;
      if (end - start + 1 > MAX_FUNCTION && !DATA.some((re) => re.test(path.relative('.', f))))
        problems.push(`${f}:${start + 1}: a function of ${end - start + 1} lines (over ${MAX_FUNCTION})`);
    }
    ts.forEachChild(n, visit);
  };
  visit(src);
  graph.set(path.relative('.', f), deps);
}

// Tarjan's strongly connected components: any component of more than one file is a circle.
let index = 0;
const idx = new Map(),
  low = new Map(),
  stack = [],
  on = new Set();
const strong = (v) => {
  idx.set(v, index);
  low.set(v, index);
  index++;
  stack.push(v);
  on.add(v);
  for (const w of graph.get(v) ?? []) {
    if (!idx.has(w)) {
      strong(w);
      low.set(v, Math.min(low.get(v), low.get(w)));
    } else if (on.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)));
  }
  if (low.get(v) === idx.get(v)) {
    const scc = [];
    let w;
    do {
      w = stack.pop();
      on.delete(w);
      scc.push(w);
    } while (w !== v);
    if (scc.length > 1) problems.push(`import circle: ${scc.sort().join(' <-> ')}`);
  }
};
for (const v of graph.keys()) if (!idx.has(v)) strong(v);

// The contract imports nothing of the daemon but itself.
for (const [f, deps] of graph) {
  if (!f.startsWith(path.join(root, 'contract'))) continue;
  for (const d of deps)
    if (!d.startsWith(path.join(root, 'contract'))) problems.push(`${f}: the contract imports ${d}`);
}
// Backends never import services or the lifecycle.
for (const [f, deps] of graph) {
  if (!f.startsWith(path.join(root, 'backends'))) continue;
  for (const d of deps)
    if (/^daemon\/(services|environments|gpu|http|store)\//.test(d)) problems.push(`${f}: a backend imports ${d}`);
}

if (problems.length) {
  console.error(problems.join('\n'));
  process.exit(1);
}
console.log(`${files.length} files: no import circles, none over ${MAX_FILE} lines, no function over ${MAX_FUNCTION}`);
