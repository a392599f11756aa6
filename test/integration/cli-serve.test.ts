/**
 * `roje serve` as a process: the ready line, answers to a real client (dig), SIGHUP reloads (good and
 * bad configs), SIGTERM with a query in flight, and per-query logs. Every roje here listens on an
 * ephemeral loopback port and forwards to fake upstreams on loopback.
 */
import { createSocket } from 'node:dgram';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { type FakeUpstream, startFakeUpstream } from '../helpers/fake-upstream.js';
import { binaryProblem, dig, type LogLine, repeatedKeys, spawnRoje, until } from '../helpers/process.js';

async function fakeUpstream(t: Test, address: string): Promise<FakeUpstream> {
  const up = await startFakeUpstream();
  t.teardown(() => up.close());
  for (const name of ['www', 'a', 'b', 'c', 'slow']) {
    up.zone.set(`${name}.example.test`, 'A', [{ data: address, ttl: 300 }]);
  }
  return up;
}

const byMsg = (msg: string) => (line: LogLine) => line.msg === msg;

const problem = binaryProblem();
if (problem !== null) {
  t.fail(problem);
  t.end();
} else {
  t.test('serve with flags: a JSON ready line, answers over UDP and TCP, SIGINT exits 0', async (t) => {
    const up = await fakeUpstream(t, '192.0.2.1');
    const upstream = `udp://127.0.0.1:${up.port}`;
    const roje = spawnRoje(['serve', '--listen', '127.0.0.1:0', '--upstream', upstream], { t });
    const { line, addresses } = await roje.ready();
    t.equal(line.level, 'info');
    t.equal(line.pid, roje.pid, 'the pid we signal is roje itself');
    t.equal(line.config, 'embedded default');
    t.same(line.upstreams, [upstream]);
    t.equal(addresses.length, 1);
    const [server] = addresses;
    t.equal(server.host, '127.0.0.1');
    t.not(server.port, 0, 'the ready line shows the port the OS picked');
    const listening = await roje.waitForLog(byMsg('listening on udp and tcp'));
    t.equal(listening.port, server.port);

    const udp = await dig(server, 'www.example.test');
    t.equal(udp.status, 'NOERROR');
    t.same(
      udp.answers.map((a) => [a.name, a.type, a.data]),
      [['www.example.test.', 'A', '192.0.2.1']],
    );
    t.ok(udp.answers[0].ttl > 0 && udp.answers[0].ttl <= 300, `TTL ${udp.answers[0].ttl}`);
    const tcp = await dig(server, 'www.example.test', 'A', { tcp: true });
    t.equal(tcp.status, 'NOERROR');
    t.same(
      tcp.answers.map((a) => a.data),
      ['192.0.2.1'],
    );
    t.equal(up.queriesFor('www.example.test'), 1, 'the TCP answer came from the cache');
    const nx = await dig(server, 'nope.example.test');
    t.equal(nx.status, 'NXDOMAIN');
    t.same(nx.answers, []);

    roje.kill('SIGINT');
    t.same(await roje.waitForExit(), { code: 0, signal: null });
    t.equal((await roje.waitForLog(byMsg('stopping: finishing in-flight queries'))).signal, 'SIGINT');
    await roje.waitForLog(byMsg('stopped'));
    t.equal(roje.stderr(), '');
    t.same(
      roje.lines.filter((l) => typeof l === 'string'),
      [],
      'every stdout line is JSON',
    );
    for (const text of roje.stdout().trim().split('\n')) {
      t.same(repeatedKeys(text), [], `no key twice: ${text.slice(0, 100)}`);
    }
  });

  t.test('serve lifecycle: SIGHUP reloads, a broken config keeps serving, SIGTERM drains', async (t) => {
    const up1 = await fakeUpstream(t, '192.0.2.1');
    const up2 = await fakeUpstream(t, '192.0.2.2');
    const dir = t.testdir({});
    const file = join(dir, 'roje.yaml');
    const config = (port: number, extra = '') =>
      `listen: ["127.0.0.1:0"]\nupstreams: ["udp://127.0.0.1:${port}"]\n${extra}`;
    writeFileSync(file, config(up1.port));

    const roje = spawnRoje(['serve', '--config', file], { t });
    const { line, addresses } = await roje.ready();
    t.equal(line.config, file);
    t.same(line.upstreams, [`udp://127.0.0.1:${up1.port}`]);
    const [server] = addresses;
    t.same(
      (await dig(server, 'a.example.test')).answers.map((a) => a.data),
      ['192.0.2.1'],
    );
    t.equal(up1.queriesFor('a.example.test'), 1);

    // Reload onto the second upstream: same listener, new queries go to up2.
    writeFileSync(file, config(up2.port));
    roje.kill('SIGHUP');
    const reloaded = await roje.waitForLog(byMsg('config reloaded'));
    t.same(reloaded.upstreams, [`udp://127.0.0.1:${up2.port}`]);
    t.same(reloaded.listen, [`udp+tcp 127.0.0.1:${server.port}`], 'the listener is kept, not rebound');
    t.same(
      (await dig(server, 'b.example.test')).answers.map((a) => a.data),
      ['192.0.2.2'],
    );
    t.equal(up2.queriesFor('b.example.test'), 1);
    t.equal(up1.queriesFor('b.example.test'), 0, 'the old upstream gets no new queries');

    // A broken config: logged, and the running config (up2) keeps answering.
    writeFileSync(file, config(up1.port, 'cache:\n  maxTTL: 1d\n'));
    roje.kill('SIGHUP');
    const failed = await roje.waitForLog(byMsg('reload failed; keeping the running config'));
    t.equal(failed.level, 'error');
    t.match(failed.err, `config error in ${file}: unknown key "cache.maxTTL" (did you mean "cache.maxTtl"?)`);
    rmSync(file);
    roje.kill('SIGHUP');
    const gone = await roje.waitForLog(
      (l) => l.msg === 'reload failed; keeping the running config' && l !== failed,
    );
    t.match(gone.err, /cannot read the file: no such file or directory \(ENOENT\)/);
    const c = await dig(server, 'c.example.test');
    t.equal(c.status, 'NOERROR');
    t.same(
      c.answers.map((a) => a.data),
      ['192.0.2.2'],
    );
    t.equal(up1.queriesFor('c.example.test'), 0);
    t.equal(roje.logs().filter(byMsg('config reloaded')).length, 1, 'no reload was applied');

    // SIGTERM while a query waits on a slow upstream: the query is still answered, then roje exits 0.
    up2.behave('slow.example.test', { delayMs: 500 });
    const slow = dig(server, 'slow.example.test', 'A', { timeoutS: 5 });
    await until(() => up2.queriesFor('slow.example.test') === 1, 5000, 'the slow query to reach up2');
    roje.kill('SIGTERM');
    const answer = await slow;
    t.equal(answer.status, 'NOERROR');
    t.same(
      answer.answers.map((a) => a.data),
      ['192.0.2.2'],
    );
    t.same(await roje.waitForExit(), { code: 0, signal: null });
    const msgs = roje.logs().map((l) => l.msg);
    const stopping = msgs.indexOf('stopping: finishing in-flight queries');
    t.ok(stopping >= 0, 'stopping is logged');
    t.equal(msgs.at(-1), 'stopped', 'stopped is the last line');
    t.equal(roje.stderr(), '');
  });

  t.test('a SIGHUP sent the moment the ready line appears reloads, it does not kill', async (t) => {
    // The ready line is a promise that signals are handled; a supervisor may reload at once. The race
    // is narrow, so try a few times.
    for (let i = 0; i < 3; i++) {
      const roje = spawnRoje(['serve', '--listen', '127.0.0.1:0', '--upstream', 'udp://127.0.0.1:9'], { t });
      await roje.ready();
      roje.kill('SIGHUP');
      await roje.waitForLog(byMsg('config reloaded'));
      roje.kill('SIGTERM');
      t.same(await roje.waitForExit(), { code: 0, signal: null }, `attempt ${i + 1}`);
    }
  });

  t.test('a reload that cannot bind keeps everything: upstreams and log level', async (t) => {
    const up1 = await fakeUpstream(t, '192.0.2.1');
    const up2 = await fakeUpstream(t, '192.0.2.2');
    const busy = createSocket('udp4');
    await new Promise<void>((resolve) => busy.bind(0, '127.0.0.1', resolve));
    t.teardown(() => busy.close());
    const busyPort = busy.address().port;
    const dir = t.testdir({});
    const file = join(dir, 'roje.yaml');
    writeFileSync(file, `listen: ["127.0.0.1:0"]\nupstreams: ["udp://127.0.0.1:${up1.port}"]\n`);
    const roje = spawnRoje(['serve', '--config', file], { t });
    const [server] = (await roje.ready()).addresses;

    // Valid, but its second address is taken: the reload fails when it binds.
    writeFileSync(
      file,
      `listen: ["127.0.0.1:0", "127.0.0.1:${busyPort}"]\nupstreams: ["udp://127.0.0.1:${up2.port}"]\nlog: {level: error}\n`,
    );
    roje.kill('SIGHUP');
    const failed = await roje.waitForLog(byMsg('reload failed; keeping the running config'));
    t.match(failed.err, `cannot listen on udp 127.0.0.1:${busyPort}: EADDRINUSE`);
    t.same(
      (await dig(server, 'a.example.test')).answers.map((a) => a.data),
      ['192.0.2.1'],
      'still the first upstream',
    );
    t.equal(up2.counts.total, 0);
    roje.kill('SIGTERM');
    t.same(await roje.waitForExit(), { code: 0, signal: null });
    // At level "error" these info lines would be gone.
    t.ok(roje.logs().some(byMsg('stopping: finishing in-flight queries')), 'still logging at info');
    t.equal(roje.logs().at(-1)?.msg, 'stopped');
  });

  t.test('per-query logs: none by default', async (t) => {
    const up = await fakeUpstream(t, '192.0.2.1');
    const roje = spawnRoje(['serve', '--listen', '127.0.0.1:0', '--upstream', `udp://127.0.0.1:${up.port}`], {
      t,
    });
    const [server] = (await roje.ready()).addresses;
    for (const name of ['a.example.test', 'a.example.test', 'b.example.test', 'nope.example.test']) {
      const r = await dig(server, name);
      t.equal(r.status, name === 'nope.example.test' ? 'NXDOMAIN' : 'NOERROR', name);
    }
    roje.kill('SIGTERM');
    t.same(await roje.waitForExit(), { code: 0, signal: null });
    // After exit every line is in: nothing names a client's query.
    t.notMatch(roje.stdout(), /example\.test/);
    t.same(roje.logs().filter(byMsg('query')), []);
  });

  t.test('per-query logs: one line per query with log.queries, off again after SIGHUP', async (t) => {
    const up = await fakeUpstream(t, '192.0.2.1');
    const dir = t.testdir({});
    const file = join(dir, 'roje.yaml');
    const config = (queries: boolean) =>
      `listen: ["127.0.0.1:0"]\nupstreams: ["udp://127.0.0.1:${up.port}"]\nlog: {queries: ${queries}}\n`;
    writeFileSync(file, config(true));
    const roje = spawnRoje(['serve', '--config', file], { t });
    const [server] = (await roje.ready()).addresses;

    t.equal((await dig(server, 'a.example.test')).status, 'NOERROR');
    t.equal((await dig(server, 'a.example.test')).status, 'NOERROR');
    t.equal((await dig(server, 'nope.example.test')).status, 'NXDOMAIN');
    t.equal((await dig(server, 'b.example.test', 'AAAA', { tcp: true })).status, 'NOERROR');
    const queryLines = () => roje.logs().filter(byMsg('query'));
    await until(() => queryLines().length >= 4, 5000, 'four query log lines');
    const lines = queryLines();
    t.same(
      lines.map((l) => [l.qname, l.qtype, l.rcode, l.source, l.transport]),
      [
        ['a.example.test', 1, 0, 'upstream', 'udp'],
        ['a.example.test', 1, 0, 'cache', 'udp'],
        ['nope.example.test', 1, 3, 'upstream', 'udp'],
        ['b.example.test', 28, 0, 'upstream', 'tcp'],
      ],
    );
    for (const l of lines) {
      t.equal(l.level, 'info');
      t.equal(l.client, '127.0.0.1');
      t.type(l.ms, 'number');
    }

    writeFileSync(file, config(false));
    roje.kill('SIGHUP');
    await roje.waitForLog(byMsg('config reloaded'));
    t.equal((await dig(server, 'c.example.test')).status, 'NOERROR');
    roje.kill('SIGTERM');
    t.same(await roje.waitForExit(), { code: 0, signal: null });
    t.equal(queryLines().length, 4, 'no query line once log.queries is off');
    t.notMatch(roje.stdout(), /c\.example\.test/);
  });
}
