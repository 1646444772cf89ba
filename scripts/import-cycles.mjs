// Lists the import cycles among the TypeScript modules of a folder (default: src), counting every
// static `import ... from`, `import type ... from`, `export ... from` and `import('...')` of a
// relative path. Exits 1 when there is a cycle, so CI can run it.
// Usage: node scripts/import-cycles.mjs [folder]
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const root = resolve(process.argv[2] ?? 'src');
const files = readdirSync(root, { recursive: true, withFileTypes: true })
  .filter((entry) => entry.isFile() && entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts'))
  .map((entry) => join(entry.parentPath ?? entry.path, entry.name));

const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^;]*?\sfrom\s*['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/g;
/** module -> the modules it imports (both as paths relative to root). */
const edges = new Map();
for (const file of files) {
  const text = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:])\/\/.*$/gm, '$1');
  const targets = new Set();
  for (const match of text.matchAll(IMPORT)) {
    const spec = match[1] ?? match[2];
    const target = resolve(dirname(file), spec.replace(/\.js$/, '.ts'));
    targets.add(relative(root, target));
  }
  edges.set(relative(root, file), [...targets].filter((target) => edges.has(target) || files.includes(join(root, target))));
}

// Tarjan's strongly connected components: every component of more than one module is a cycle.
let index = 0;
const stack = [];
const state = new Map();
const cycles = [];
function visit(node) {
  state.set(node, { index, low: index, onStack: true });
  index++;
  stack.push(node);
  for (const next of edges.get(node) ?? []) {
    if (!state.has(next)) {
      visit(next);
      state.get(node).low = Math.min(state.get(node).low, state.get(next).low);
    } else if (state.get(next).onStack) {
      state.get(node).low = Math.min(state.get(node).low, state.get(next).index);
    }
  }
  if (state.get(node).low === state.get(node).index) {
    const component = [];
    let member;
    do {
      member = stack.pop();
      state.get(member).onStack = false;
      component.push(member);
    } while (member !== node);
    if (component.length > 1 || (edges.get(node) ?? []).includes(node)) cycles.push(component.sort());
  }
}
for (const node of [...edges.keys()].sort()) if (!state.has(node)) visit(node);

console.log(`${edges.size} modules in ${relative(process.cwd(), root) || '.'}, ${[...edges.values()].reduce((sum, list) => sum + list.length, 0)} imports`);
if (cycles.length === 0) {
  console.log('no import cycles');
} else {
  for (const cycle of cycles) console.log(`import cycle among: ${cycle.join(', ')}`);
  process.exit(1);
}
