/**
 * src/core stays browser-safe: walking the imports from src/core/index.ts, and from every other
 * file under src/core (not all are reachable from the index), no file imports a node:* module, a
 * package outside the allowlist, or a relative path that leaves src/core. onnxruntime-common is
 * allowed for types only (`import type` / `export type … from`): its runtime half comes from
 * whichever runtime package the edge (src/node, src/web) loads.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..');
const CORE = join(ROOT, 'src', 'core');

/** Packages src/core may import, and whether type-only imports are the only ones allowed. */
const ALLOWED: Record<string, { typeOnly: boolean }> = {
  'onnx-proto': { typeOnly: false },
  'onnxruntime-common': { typeOnly: true },
};

interface ModuleRef {
  specifier: string;
  /** `import type …` / `export type … from`: erased by the compiler, never loaded at run time. */
  typeOnly: boolean;
  /** 1-based line of the specifier. */
  line: number;
}

/**
 * The source with comments, template literals and regular-expression literals blanked out
 * (newlines kept, so offsets and line numbers stay valid); quoted strings are kept, since
 * module specifiers are quoted strings.
 */
function codeOnly(src: string): string {
  const out = src.split('');
  const blank = (from: number, to: number) => {
    for (let k = from; k < to; k++) if (out[k] !== '\n') out[k] = ' ';
  };
  let prev = ''; // last significant character outside comments and literals
  const skipString = (i: number, q: string): number => {
    let j = i + 1;
    while (j < src.length && src[j] !== q && src[j] !== '\n') j += src[j] === '\\' ? 2 : 1;
    return j + 1;
  };
  // Returns the index after the closing backtick; `${…}` parts are skipped as code.
  const skipTemplate = (i: number): number => {
    let j = i + 1;
    while (j < src.length && src[j] !== '`') {
      if (src[j] === '\\') j += 2;
      else if (src[j] === '$' && src[j + 1] === '{') j = skipCode(j + 2, '}');
      else j++;
    }
    return j + 1;
  };
  // Scans code from i to the matching `close` (or the end), blanking what is not code.
  const skipCode = (i: number, close: string | null): number => {
    let depth = 0;
    let j = i;
    while (j < src.length) {
      const c = src[j]!;
      const d = src[j + 1];
      if (c === '/' && d === '/') {
        const e = src.indexOf('\n', j);
        const end = e < 0 ? src.length : e;
        blank(j, end);
        j = end;
      } else if (c === '/' && d === '*') {
        const e = src.indexOf('*/', j + 2);
        const end = e < 0 ? src.length : e + 2;
        blank(j, end);
        j = end;
      } else if (c === "'" || c === '"') {
        j = skipString(j, c);
        prev = c;
      } else if (c === '`') {
        const end = skipTemplate(j);
        blank(j, end);
        j = end;
        prev = '`';
      } else if (
        c === '/' &&
        (prev === '' ||
          '(,=:[!&|?{};+-*%<>~^'.includes(prev) ||
          /\b(return|typeof|case|do|else|in|of|void|yield|await)$/.test(src.slice(Math.max(0, j - 8), j).trimEnd()))
      ) {
        // A regular-expression literal: up to the unescaped / outside a character class, then flags.
        let k = j + 1;
        let cls = false;
        while (k < src.length && src[k] !== '\n' && (cls || src[k] !== '/')) {
          if (src[k] === '\\') k++;
          else if (src[k] === '[') cls = true;
          else if (src[k] === ']') cls = false;
          k++;
        }
        k++;
        while (k < src.length && /[a-z]/i.test(src[k]!)) k++;
        blank(j, k);
        j = k;
        prev = '/';
      } else {
        if (close !== null && c === '{') depth++;
        if (close !== null && c === '}') {
          if (depth === 0) return j + 1;
          depth--;
        }
        if (!/\s/.test(c)) prev = c;
        j++;
      }
    }
    return j;
  };
  skipCode(0, null);
  return out.join('');
}

const CLAUSE = String.raw`(?:[\w$]+\s*,\s*)?(?:\{[^{}]*\}|\*(?:\s+as\s+[\w$]+)?|[\w$]+)`;
const STATIC = new RegExp(String.raw`(?:^|[;{}\n])\s*(import|export)(\s+type)?\s+${CLAUSE}\s*from\s*(['"])([^'"\n]*)\3`, 'g');
const SIDE_EFFECT = /(?:^|[;{}\n])\s*import\s*(['"])([^'"\n]*)\1/g;
const DYNAMIC = /\b(import|require)\s*\(\s*(?:(['"])([^'"\n]*)\2\s*\))?/g;

/** Every module a TypeScript source refers to: static imports, `export … from`, import() and require(). */
function moduleRefs(src: string): ModuleRef[] {
  const code = codeOnly(src);
  const lineAt = (offset: number) => code.slice(0, offset).split('\n').length;
  const refs: ModuleRef[] = [];
  for (const m of code.matchAll(STATIC)) {
    refs.push({ specifier: m[4]!, typeOnly: m[2] !== undefined, line: lineAt(m.index + m[0].lastIndexOf(m[3]!, m[0].length - 2)) });
  }
  for (const m of code.matchAll(SIDE_EFFECT)) refs.push({ specifier: m[2]!, typeOnly: false, line: lineAt(m.index + m[0].indexOf(m[1]!)) });
  for (const m of code.matchAll(DYNAMIC)) {
    // A specifier that is not a string literal cannot be checked: report it as such.
    refs.push({ specifier: m[3] ?? `<${m[1]}() of a computed specifier>`, typeOnly: false, line: lineAt(m.index) });
  }
  return refs.sort((a, b) => a.line - b.line);
}

function packageName(spec: string): string {
  const parts = spec.split('/');
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

/** A relative specifier as the TypeScript file it names (NodeNext: `./x.js` is `./x.ts`). */
function resolveRelative(from: string, spec: string): string | null {
  const target = resolve(dirname(from), spec);
  const candidates = [target.replace(/\.js$/, '.ts'), target.replace(/\.mjs$/, '.mts'), target];
  return candidates.find((c) => existsSync(c) && c.endsWith('.ts')) ?? null;
}

/** What is wrong with one reference from a core file, or null. */
function violation(file: string, ref: ModuleRef): string | null {
  const s = ref.specifier;
  if (s.startsWith('<')) return `${s}: cannot be checked`;
  if (s.startsWith('node:')) return `'${s}': a Node built-in module`;
  if (s.startsWith('.') || s.startsWith('/')) {
    const target = resolveRelative(file, s);
    if (!target) return `'${s}': does not resolve to a .ts file`;
    if (!target.startsWith(CORE + sep)) return `'${s}': leaves src/core (${relative(ROOT, target)})`;
    return null;
  }
  const allowed = ALLOWED[packageName(s)];
  if (!allowed) return `'${s}': package not in the core allowlist (${Object.keys(ALLOWED).join(', ')})`;
  if (allowed.typeOnly && !ref.typeOnly) return `'${s}': allowed in src/core only as \`import type\``;
  return null;
}

function coreFiles(dir = CORE): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? coreFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** Walk the import graph from the given roots; every visited file's problems, as "file:line: …". */
function walk(roots: string[]): { visited: Set<string>; problems: string[] } {
  const visited = new Set<string>();
  const problems: string[] = [];
  const queue = [...roots];
  while (queue.length > 0) {
    const file = queue.shift()!;
    if (visited.has(file)) continue;
    visited.add(file);
    for (const ref of moduleRefs(readFileSync(file, 'utf8'))) {
      const v = violation(file, ref);
      if (v) problems.push(`${relative(ROOT, file)}:${ref.line}: ${v}`);
      else if (ref.specifier.startsWith('.')) queue.push(resolveRelative(file, ref.specifier)!);
    }
  }
  return { visited, problems };
}

describe('the import scanner', () => {
  it('finds static, type-only, re-exported, side-effect and dynamic imports, and nothing in comments or literals', () => {
    const src = [
      'import { a,',
      "  b } from './a.js';",
      "import type { T } from 'onnxruntime-common';",
      'import * as ns from "node:fs";',
      "import def, { c } from 'pkg/sub';",
      "export { d } from './d.js'; export type { E } from '../e.js';",
      "export * from '@scope/pkg/x';",
      "import './side.js';",
      "// import { z } from 'node:comment';",
      "/* import y from 'node:block'; */",
      'const s = "import q from \'node:string\'";',
      'const t = `',
      "import r from 'node:template';",
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the scanned source holds a template literal
      "${f('x')}`;",
      "const re = /['\"]import w from 'node:regex'/g;",
      "const ratio = a / b; const u = await import('node:dynamic');",
      'const v = require(name);',
      'export interface I { from: string }',
    ].join('\n');
    expect(moduleRefs(src).map((r) => `${r.line} ${r.typeOnly ? 'type ' : ''}${r.specifier}`)).toEqual([
      '2 ./a.js',
      '3 type onnxruntime-common',
      '4 node:fs',
      '5 pkg/sub',
      '6 ./d.js',
      '6 type ../e.js',
      '7 @scope/pkg/x',
      '8 ./side.js',
      '16 node:dynamic',
      '17 <require() of a computed specifier>',
    ]);
  });
});

describe('src/core is browser-safe', () => {
  const index = join(CORE, 'index.ts');
  const all = coreFiles();

  it('finds the core files and the imports of the index', () => {
    expect(all).toContain(index);
    expect(all.length).toBeGreaterThan(20);
    // The index re-exports the core: the walk from it must reach far.
    expect(walk([index]).visited.size).toBeGreaterThan(20);
  });

  it('no node:* module, no package outside the allowlist, no relative import leaving src/core', () => {
    const { visited, problems } = walk([index, ...all]);
    expect(problems).toEqual([]);
    expect(visited.size).toBe(all.length);
  });
});
