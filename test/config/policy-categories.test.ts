/**
 * A policy naming a category no list provides is a config error (a typo would leave it unfiltered),
 * unless the policy marks it optional; abuse is exempt (mandatory, with its own status warning).
 */
import t from 'tap';
import {
  assertListsProvideCategories,
  missingCategories,
  nearestCategory,
  optionalCategoryWarnings,
} from '../../src/config/policy-categories.js';
import { configChecker } from '../helpers/config.js';

const FILE = '/etc/roje/roje.yaml';
const { load, fail } = configChecker(FILE);
const LISTS = [
  { category: 'adult', path: 'adult.txt' },
  { category: 'gambling', path: 'gambling.txt' },
];

t.test(
  'a typo in `block` is refused, naming the file, the policy, the category and the nearest one',
  async (t) => {
    const err = await fail({ lists: LISTS, policies: { cafe: { block: ['abuse', 'porn', 'gambling'] } } });
    t.equal(err.code, 'ROJE_ERR_CONFIG_CATEGORY_MISSING');
    t.equal(err.file, FILE);
    t.equal(err.key, 'policies.cafe.block');
    t.ok(err.message.startsWith(`config error in ${FILE}: policies.cafe.block: `), err.message);
    t.match(err.message, /policy "cafe" blocks the category "porn", which no list provides/);
    t.match(err.message, /the configured lists provide: adult, gambling/);
    t.match(err.message, /did you mean adult\?/);
    t.match(err.message, /policies\.cafe\.optionalCategories/);
    t.match(err.expected, /adult, gambling/);
    const slip = await fail({ lists: LISTS, policies: { cafe: { block: ['abuse', 'gamblng'] } } });
    t.match(slip.message, /did you mean gambling\?/);
  },
);

t.test('the categories come from --list flags and the samples too; abuse is exempt', async (t) => {
  const flagged = await fail(
    { policies: { default: { block: ['abuse', 'gambling'] } } },
    { lists: ['adult=a.txt'] },
  );
  t.equal(flagged.key, 'policies.default.block');
  // The samples (no `lists` key) provide adult, gambling, doh-bypass and abuse.
  await load({ policies: { default: { block: ['abuse', 'adult', 'doh-bypass'] } } });
  const ok = await load({ lists: LISTS, policies: { default: { block: ['abuse', 'adult'] } } });
  t.same(ok.policies.default.block, ['abuse', 'adult'], 'abuse without an abuse list: the status warns');
  const none = await fail({ lists: [], policies: { default: { block: ['abuse', 'adult'] } } });
  t.match(none.message, /the configured lists provide: none\)\./);
});

t.test('an artifact or a fleet pull: checked when read, not at load', async (t) => {
  const cfg = await load({ compiled: 'lists.roje', policies: { default: { block: ['abuse', 'porn'] } } });
  t.throws(
    () =>
      assertListsProvideCategories(cfg, {
        from: 'compiled',
        missing: [],
        lists: { categories: ['abuse', 'adult'] },
      }),
    {
      code: 'ROJE_ERR_CONFIG_CATEGORY_MISSING',
      key: 'policies.default.block',
      message: /the compiled artifact \/etc\/roje\/lists\.roje provide: abuse, adult\); did you mean adult\?/,
    },
  );
  const fleet = { from: 'fleet', missing: [], lists: { categories: ['abuse'] } };
  t.throws(() => assertListsProvideCategories(cfg, fleet), /the pulled fleet artifact/);
  t.doesNotThrow(
    () => assertListsProvideCategories(cfg, { ...fleet, missing: ['fleet artifact'] }),
    'no pull yet',
  );
  t.doesNotThrow(() => assertListsProvideCategories(cfg, { ...fleet, from: 'lists' }), 'checked at load');
  t.doesNotThrow(() => assertListsProvideCategories(cfg, null));
});

t.test('optionalCategories: a category of `block` the lists may lack', async (t) => {
  const cfg = await load({
    lists: LISTS,
    policies: { cafe: { block: ['abuse', 'adult', 'drugs'], optionalCategories: ['drugs', 'drugs'] } },
  });
  t.same(cfg.policies.cafe.optionalCategories, ['drugs']);
  t.same(optionalCategoryWarnings(cfg.policies, ['abuse', 'adult', 'gambling']), [
    'policy "cafe" blocks the optional category "drugs", which no list provides: nothing is blocked for it',
  ]);
  t.same(optionalCategoryWarnings(cfg.policies, ['adult', 'drugs']), [], 'provided: no warning');
  const notBlocked = await fail({
    lists: LISTS,
    policies: { cafe: { block: ['abuse', 'adult'], optionalCategories: ['drugs'] } },
  });
  t.equal(notBlocked.code, 'ROJE_ERR_CONFIG_INVALID');
  t.equal(notBlocked.key, 'policies.cafe.optionalCategories[0]');
  t.match(
    notBlocked.message,
    /expected one of the categories in policies\.cafe\.block \(abuse, adult\), got "drugs"/,
  );
  const all = await fail({
    lists: LISTS,
    policies: { cafe: { block: 'all', optionalCategories: ['drugs'] } },
  });
  t.match(all.message, /with `block: all`/);
});

t.test('missingCategories and nearestCategory', async (t) => {
  t.same(
    missingCategories({ a: { block: ['x', 'abuse', 'y'], optionalCategories: ['y'] }, b: { block: 'all' } }, [
      'z',
    ]),
    [
      { policy: 'a', category: 'x', optional: false },
      { policy: 'a', category: 'y', optional: true },
    ],
  );
  t.equal(nearestCategory('porn', ['abuse', 'adult']), 'adult', 'a usual other name');
  t.equal(nearestCategory('porn', ['abuse']), null, 'not a category the lists have');
  t.equal(nearestCategory('adlt', ['abuse', 'adult', 'gambling']), 'adult');
  t.equal(nearestCategory('social', ['abuse', 'adult']), null, 'nothing close');
});
