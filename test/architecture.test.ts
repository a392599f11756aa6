/**
 * The shape of the code, checked: no function in src/ runs past MAX_FUNCTION_LINES unless a comment right
 * above it says why (`// long-function: <reason>`), and app.ts stays a short composition root. A long
 * function usually holds two ideas; the marker makes keeping one a decision someone wrote down.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import ts from 'typescript';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SRC = join(ROOT, 'src');
const MAX_FUNCTION_LINES = 150;
const MAX_APP_LINES = 250;
/** The marker and a reason after it: "long-function:" alone says nothing. */
const MARKER = /long-function:\s*\S/;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => {
      const path = join(dir, e.name);
      if (e.isDirectory()) return sourceFiles(path);
      return e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [path] : [];
    })
    .sort();
}

type FunctionWithBody = ts.FunctionLikeDeclaration & { body: ts.Node };

function hasBody(node: ts.Node): node is FunctionWithBody {
  return ts.isFunctionLike(node) && (node as ts.FunctionLikeDeclaration).body !== undefined;
}

function nameOf(node: FunctionWithBody): string {
  if (node.name !== undefined) return node.name.getText();
  if (ts.isConstructorDeclaration(node)) return 'constructor';
  const parent = node.parent;
  if (
    ts.isVariableDeclaration(parent) ||
    ts.isPropertyAssignment(parent) ||
    ts.isPropertyDeclaration(parent)
  ) {
    return parent.name.getText();
  }
  return '(anonymous)';
}

/**
 * The node whose comments belong to the function: the function itself, or what starts it on the same
 * line (`export const createX = () => {`, `server.on('x', (req) => {`, `foo: () => {`).
 */
function anchorOf(node: ts.Node, sf: ts.SourceFile): ts.Node {
  const line = (n: ts.Node) => sf.getLineAndCharacterOfPosition(n.getStart(sf)).line;
  let anchor = node;
  while (
    !ts.isSourceFile(anchor.parent) &&
    !ts.isBlock(anchor.parent) &&
    !ts.isModuleBlock(anchor.parent) &&
    line(anchor.parent) === line(node)
  ) {
    anchor = anchor.parent;
  }
  return anchor;
}

/** Whether the comments right above the function (its JSDoc or line comments), or the line above, say why. */
function explained(node: ts.Node, sf: ts.SourceFile, lines: readonly string[]): boolean {
  const anchor = anchorOf(node, sf);
  const comments = ts.getLeadingCommentRanges(sf.text, anchor.getFullStart()) ?? [];
  if (comments.some((c) => MARKER.test(sf.text.slice(c.pos, c.end)))) return true;
  const above = sf.getLineAndCharacterOfPosition(anchor.getStart(sf)).line - 1;
  return above >= 0 && MARKER.test(lines[above]);
}

interface LongFunction {
  file: string;
  line: number;
  name: string;
  lines: number;
}

/** The functions of one file longer than `max` lines with no reason above them. */
function longFunctionsIn(file: string, text: string, max = MAX_FUNCTION_LINES): LongFunction[] {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const lines = text.split('\n');
  const found: LongFunction[] = [];
  const visit = (node: ts.Node): void => {
    if (hasBody(node)) {
      const start = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line;
      const end = sf.getLineAndCharacterOfPosition(node.getEnd()).line;
      const length = end - start + 1;
      if (length > max && !explained(node, sf, lines)) {
        found.push({ file, line: start + 1, name: nameOf(node), lines: length });
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return found;
}

t.test('the check itself: what counts as a reason, and where', async (t) => {
  const body = Array.from({ length: 4 }, (_, i) => `  const x${i} = ${i};`).join('\n');
  const fn = (head: string) => `${head} {\n${body}\n}`;
  const names = (text: string) => longFunctionsIn('x.ts', text, 5).map((f) => `${f.name} ${f.lines}`);
  t.same(names(fn('function plain()')), ['plain 6'], 'a long function without a comment');
  t.same(names(`// long-function: one state machine\n${fn('export function a()')}`), []);
  t.same(
    names(`/**\n * Does a.\n * long-function: a factory closure\n */\n${fn('export async function a()')}`),
    [],
  );
  t.same(
    names(`// long-function: why\n${fn('export const b = () =>')}`),
    [],
    'an arrow function: its statement',
  );
  t.same(names(`class C {\n  // long-function: why\n${fn('  m()')}\n}`), [], 'a method');
  t.same(names(`// long-function:\n${fn('function c()')}`), ['c 6'], 'a marker with no reason');
  t.same(
    names(`// long-function: not this one\nconst y = 1;\n\n${fn('function d()')}`),
    ['d 6'],
    'a comment further up',
  );
  t.same(names(`const o = {\n${fn('  e: () =>')},\n};`), ['e 6'], 'named after its property');
});

function longFunctions(): LongFunction[] {
  return sourceFiles(SRC).flatMap((path) => longFunctionsIn(relative(SRC, path), readFileSync(path, 'utf8')));
}

t.test(
  `no function in src/ is longer than ${MAX_FUNCTION_LINES} lines without a reason above it`,
  async (t) => {
    const offenders = longFunctions();
    t.same(
      offenders.map((f) => `src/${f.file}:${f.line} ${f.name} ${f.lines}`),
      [],
      `split these, or put "// long-function: <why it is one piece>" right above each`,
    );
  },
);

t.test(`src/app.ts, the composition root, is under ${MAX_APP_LINES} lines`, async (t) => {
  const text = readFileSync(join(SRC, 'app.ts'), 'utf8');
  const lines = text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
  t.ok(lines < MAX_APP_LINES, `src/app.ts has ${lines} lines: it lists services, their order and why`);
});
