import t from 'tap';
import {
  createFairShare,
  type FairShareOptions,
  NO_CLIENT,
  NO_VENUE,
  type PendingExchange,
} from '../../src/upstream/fair-share.js';

/** Deterministic: no sockets, no clock; `now` is passed by hand. */
function share(extra: Partial<FairShareOptions> = {}) {
  return createFairShare({ maxPending: 8, maxPerClient: 4, maxPerVenue: 6, jostleAfterMs: 200, ...extra });
}

function entry(client: number, startedAt: number, venue = NO_VENUE, jostled: number[] = []): PendingExchange {
  return { client, venue, startedAt, onJostled: () => jostled.push(client), state: 'pending' };
}

t.test('a client over its share is refused; the others are not', async (t) => {
  const s = share();
  for (let i = 0; i < 4; i++) t.equal(s.admit(entry(5, 0), 0), 'ok');
  t.equal(s.admit(entry(5, 0), 0), 'client-full', 'the fifth of one client');
  t.equal(s.admit(entry(2, 0), 0), 'ok', 'another client still gets in');
  t.equal(s.size, 5);
  t.equal(s.pendingOf(5), 4);
});

t.test('released exchanges give the client its share back', async (t) => {
  const s = share();
  const mine = [entry(5, 0), entry(5, 0), entry(5, 0), entry(5, 0)];
  for (const e of mine) s.admit(e, 0);
  s.release(mine[0]);
  t.equal(s.pendingOf(5), 3);
  t.equal(s.admit(entry(5, 1), 1), 'ok');
  s.release(mine[0]);
  t.equal(s.pendingOf(5), 4, 'a second release of the same exchange changes nothing');
});

t.test("a venue's clients together are capped; clients of no venue are not", async (t) => {
  const s = share();
  for (let c = 1; c <= 6; c++) t.equal(s.admit(entry(c, 0, 3), 0), 'ok');
  t.equal(s.admit(entry(7, 0, 3), 0), 'venue-full');
  t.equal(s.admit(entry(7, 0, 4), 0), 'ok', 'another venue');
  t.equal(s.admit(entry(8, 0, NO_VENUE), 0), 'ok', 'no venue');
});

t.test('queue full: the oldest slow exchange of the heaviest client gives way (jostle)', async (t) => {
  const s = share();
  const jostled: number[] = [];
  const heavy = [0, 10, 20, 30].map((at) => entry(5, at, NO_VENUE, jostled));
  for (const e of heavy) s.admit(e, e.startedAt);
  const light = [entry(6, 40, NO_VENUE, jostled), entry(6, 50, NO_VENUE, jostled)];
  for (const e of light) s.admit(e, e.startedAt);
  s.admit(entry(7, 60, NO_VENUE, jostled), 60);
  s.admit(entry(8, 70, NO_VENUE, jostled), 70);
  t.equal(s.size, 8, 'full');

  t.equal(s.admit(entry(9, 100), 100), 'queue-full', 'nothing has been in flight 200 ms yet');
  t.same(jostled, []);

  const newcomer = entry(9, 250);
  t.equal(s.admit(newcomer, 250), 'ok', 'the newcomer gets in');
  t.same(jostled, [5], 'the heaviest client gave way');
  t.equal(heavy[0].state, 'jostled', 'its oldest exchange');
  t.equal(heavy[1].state, 'pending');
  t.equal(s.pendingOf(5), 3);
  t.equal(s.size, 8);
  t.equal(s.orphans, 1);
  s.release(heavy[0]);
  t.equal(s.orphans, 0, 'the jostled exchange ran out');
  t.equal(s.size, 8, 'without freeing a place twice');
});

t.test('the heaviest client cannot jostle others, nor clients as heavy as the newcomer', async (t) => {
  const s = share({ maxPerClient: 8 });
  const jostled: number[] = [];
  for (let i = 0; i < 4; i++) s.admit(entry(5, 0, NO_VENUE, jostled), 0);
  for (let i = 0; i < 4; i++) s.admit(entry(6, 0, NO_VENUE, jostled), 0);
  t.equal(s.admit(entry(5, 1000), 1000), 'queue-full', 'client 5 would take from client 6, as heavy');
  t.equal(s.admit(entry(6, 1000), 1000), 'queue-full');
  t.same(jostled, []);
  t.equal(s.admit(entry(7, 1000), 1000), 'ok', 'a light client does');
  t.equal(jostled.length, 1);
});

t.test('jostling stops while too many jostled exchanges are still running out', async (t) => {
  const s = share({ maxPending: 4, maxPerClient: 4, maxOrphans: 2 });
  const heavy = [0, 1, 2, 3].map((at) => entry(5, at));
  for (const e of heavy) s.admit(e, e.startedAt);
  t.equal(s.admit(entry(6, 500), 500), 'ok');
  t.equal(s.admit(entry(7, 500), 500), 'ok');
  t.equal(s.orphans, 2);
  t.equal(s.admit(entry(8, 500), 500), 'queue-full', 'two sockets still open for jostled ones');
  s.release(heavy[0]);
  t.equal(s.admit(entry(8, 500), 500), 'ok', 'one ran out: room to jostle again');
});

t.test('exchanges of no client have no per-client cap but count in the queue', async (t) => {
  const s = share();
  for (let i = 0; i < 8; i++) t.equal(s.admit(entry(NO_CLIENT, 0), 0), 'ok');
  t.equal(s.admit(entry(NO_CLIENT, 0), 0), 'queue-full');
});

t.test('a share larger than the queue is the queue', async (t) => {
  const s = share({ maxPending: 3, maxPerClient: 100, maxPerVenue: 100 });
  for (let i = 0; i < 3; i++) t.equal(s.admit(entry(5, 0), 0), 'ok');
  t.equal(s.admit(entry(5, 0), 0), 'client-full');
});
