/** A config reload's audit entry: who, the changed keys, the lists versions, and a refusal's code. */

import { pino } from 'pino';
import t from 'tap';
import { createAuditLog } from '../../src/admin/audit.js';
import { auditReload } from '../../src/admin/reload-audit.js';
import { ConfigError } from '../../src/config/config-error.js';
import type { RojeConfig } from '../../src/config/schema.js';

const V1 = 'a'.repeat(64);
const V2 = 'b'.repeat(64);
const config = (blockTtl: number) => ({ source: '/etc/roje/roje.yaml', blockTtl }) as unknown as RojeConfig;
const audit = () => createAuditLog({ path: null, logger: pino({ level: 'silent' }) });

t.test('a reload that took: ok, the changed keys, the lists versions (16 hex digits)', async (t) => {
  const log = audit();
  const entry = auditReload(log, {
    who: 'signal',
    before: config(60),
    next: config(30),
    listsBefore: V1,
    listsAfter: V2,
  });
  t.match(entry, {
    who: 'signal',
    role: 'system',
    action: 'config reload',
    target: '/etc/roje/roje.yaml',
    result: 'ok',
    detail: 'changed: blockTtl',
    changes: ['blockTtl'],
    lists: { before: 'a'.repeat(16), after: 'b'.repeat(16) },
  });
  t.notOk('code' in entry);
  t.same(await log.recent(10), [entry], 'in GET /api/v1/audit');
  const same = auditReload(log, {
    who: 'file',
    before: config(60),
    next: config(60),
    listsBefore: V1,
    listsAfter: V1,
  });
  t.match(same, { who: 'file', detail: 'no config key changed', changes: [] });
});

t.test('a refused reload: failed, with the error code; a config never read has no changes', async (t) => {
  const err = new ConfigError('ROJE_ERR_CONFIG_CATEGORY_MISSING', 'policy "cafe" blocks "porn"', {
    file: null,
    key: 'policies.cafe.block',
    expected: null,
  });
  const entry = auditReload(audit(), {
    who: 'signal',
    before: config(60),
    next: null,
    listsBefore: V1,
    listsAfter: V1,
    error: err,
  });
  t.match(entry, {
    result: 'failed',
    code: 'ROJE_ERR_CONFIG_CATEGORY_MISSING',
    changes: [],
    detail: 'refused, the running config stays: policy "cafe" blocks "porn"',
    lists: { before: 'a'.repeat(16), after: 'a'.repeat(16) },
  });
  const noLists = auditReload(audit(), {
    who: 'file',
    before: { ...config(60), source: null },
    next: config(30),
    listsBefore: null,
    listsAfter: null,
    error: new Error('bind failed'),
  });
  t.match(noLists, { target: '(embedded default)', result: 'failed', lists: { before: null, after: null } });
  t.notOk('code' in noLists, 'an error without a code has none');
});
