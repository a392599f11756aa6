import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { loadConfig, parseConfigText } from '../../src/config/load.js';
import { checkSchema, schemaKeyPaths } from '../../src/config/validate.js';

// deploy/roje.yaml is the operator's manual for the config: it must validate, list every key the
// schema knows, and show the defaults as they are, so it cannot silently go stale.
const file = fileURLToPath(new URL('../../deploy/roje.yaml', import.meta.url));
const text = readFileSync(file, 'utf8');
const parsed = parseConfigText(text, file) as Record<string, unknown>;

function has(obj: unknown, path: string[]): boolean {
  let cur = obj;
  for (const p of path) {
    if (cur === null || typeof cur !== 'object' || !(p in cur)) return false;
    cur = (cur as Record<string, unknown>)[p];
  }
  return true;
}

t.test('the reference config validates and loads', async (t) => {
  t.doesNotThrow(() => checkSchema(parsed, file));
  // Upstreams come from flags so the test does not depend on this machine's resolv.conf.
  const cfg = await loadConfig({ file, flags: { upstreams: ['udp://127.0.0.1:5300'] } });
  t.equal(cfg.source, file);
});

t.test('every schema key appears in the reference config', async (t) => {
  for (const path of schemaKeyPaths()) {
    if (path.includes('[]') || path.startsWith('blockPage.help.')) {
      // Keys of list entries (upstreams[].url ...) and the optional help links are shown in comments.
      const leaf = path.split('.').pop()!;
      t.match(text, new RegExp(`^\\s*#\\s*(- )?${leaf}:`, 'm'), `${path} is documented`);
    } else {
      t.ok(has(parsed, path.split('.')), `${path} is in deploy/roje.yaml`);
    }
  }
});

t.test('the reference values are the defaults', async (t) => {
  t.same(parsed, checkSchema({}, null), 'deploy/roje.yaml equals the schema defaults, key for key');
});

t.test('every key carries a comment', async (t) => {
  // A key line is documented by a comment on the same line or on the line(s) just above it.
  const lines = text.split('\n');
  for (const path of schemaKeyPaths().filter((p) => !p.includes('[]') && !p.startsWith('blockPage.help.'))) {
    const leaf = path.split('.').pop()!;
    const i = lines.findIndex((l) => new RegExp(`^\\s*${leaf}:`).test(l));
    t.not(i, -1, `${path} has a line`);
    const above = lines.slice(Math.max(0, i - 4), i + 1).join('\n');
    const isSectionWithCommentedChildren = /^\s*\w+:\s*$/.test(lines[i]) && /^\s+#/.test(lines[i + 1] ?? '');
    t.ok(/#/.test(above) || isSectionWithCommentedChildren, `${path} is commented`);
  }
});
