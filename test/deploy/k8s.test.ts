import { type ExecFileException, execFile, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { parseAllDocuments } from 'yaml';
import { serve } from '../../src/cli/serve.js';
import { loadConfig } from '../../src/config/load.js';
import { parseDuration } from '../../src/config/units.js';
import { withClosedPort } from '../helpers/ports.js';

// The Kubernetes manifests and the systemd unit in deploy/ are checked without a cluster: they parse,
// point at each other (labels, ports, mounts), agree with the config they ship, and keep their
// hardening. The ConfigMap's roje.yaml goes through roje's own loadConfig.

const K8S = fileURLToPath(new URL('../../deploy/k8s/', import.meta.url));
const UNIT = fileURLToPath(new URL('../../deploy/systemd/roje.service', import.meta.url));

// biome-ignore lint/suspicious/noExplicitAny: manifests are untyped YAML; each check names what it reads.
type Untyped = any;
type Manifest = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Untyped };
  [k: string]: Untyped;
};

function readManifests(): Map<string, Manifest> {
  const out = new Map<string, Manifest>();
  for (const file of readdirSync(K8S).filter((f) => f.endsWith('.yaml'))) {
    if (file === 'kustomization.yaml') continue;
    const docs = parseAllDocuments(readFileSync(join(K8S, file), 'utf8'), { uniqueKeys: true, strict: true });
    const list = Array.isArray(docs) ? docs : [docs];
    for (const doc of list) {
      if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors[0]?.message}`);
      const m = doc.toJS() as Manifest | null;
      if (m === null) continue;
      out.set(`${m.kind}/${m.metadata.name}`, m);
    }
  }
  return out;
}

const manifests = readManifests();
const get = (key: string): Manifest => {
  const m = manifests.get(key);
  if (m === undefined) throw new Error(`no ${key} in deploy/k8s`);
  return m;
};
const deployment = get('Deployment/roje');
const pod = deployment.spec.template.spec;
const container = pod.containers.find((c: { name: string }) => c.name === 'roje');
const configMap = get('ConfigMap/roje-config');
const secret = get('Secret/roje-admin-tokens');

/** The ConfigMap's roje.yaml through loadConfig; files it names are read from the mounted Secret. */
async function clusterConfig(dir: string) {
  const file = join(dir, 'roje.yaml');
  writeFileSync(file, configMap.data['roje.yaml']);
  const secretMount = container.volumeMounts.find((v: { name: string }) => v.name === 'admin-tokens');
  return loadConfig(
    { file },
    {
      readFile: async (path) => {
        const prefix = `${secretMount.mountPath}/`;
        if (!path.startsWith(prefix))
          throw Object.assign(new Error(`not mounted: ${path}`), { code: 'ENOENT' });
        const value = secret.stringData[path.slice(prefix.length)];
        if (value === undefined) throw Object.assign(new Error(`no key for ${path}`), { code: 'ENOENT' });
        return value;
      },
    },
  );
}

/** The URL an exec probe fetches (node -e "fetch('URL', ...)"). */
function probeUrl(probe: { exec?: { command: string[] } }): URL {
  const command = probe.exec?.command ?? [];
  const match = /fetch\('([^']+)'/.exec(command.join(' '));
  if (match?.[1] === undefined) throw new Error(`probe without a fetch URL: ${JSON.stringify(command)}`);
  return new URL(match[1]);
}

t.test('every manifest parses, with the kinds and apiVersions expected', async (t) => {
  const expected: Record<string, string> = {
    'Namespace/roje': 'v1',
    'ConfigMap/roje-config': 'v1',
    'Secret/roje-admin-tokens': 'v1',
    'Deployment/roje': 'apps/v1',
    'Service/roje-dns': 'v1',
    'Service/roje-metrics': 'v1',
    'ServiceMonitor/roje': 'monitoring.coreos.com/v1',
    'PodDisruptionBudget/roje': 'policy/v1',
  };
  t.same([...manifests.keys()].sort(), Object.keys(expected).sort());
  for (const [key, apiVersion] of Object.entries(expected)) t.equal(get(key).apiVersion, apiVersion, key);

  const kustomization = readManifestFile('kustomization.yaml');
  t.equal(kustomization.kind, 'Kustomization');
  const files = readdirSync(K8S).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml');
  t.same([...kustomization.resources].sort(), files.sort(), 'kustomization lists every manifest');
  t.equal(kustomization.namespace, get('Namespace/roje').metadata.name);
});

function readManifestFile(name: string): Manifest {
  const docs = parseAllDocuments(readFileSync(join(K8S, name), 'utf8'));
  const doc = Array.isArray(docs) ? docs[0] : docs;
  return doc.toJS() as Manifest;
}

t.test("the ConfigMap's roje.yaml loads, with the tokens file from the Secret", async (t) => {
  const config = await clusterConfig(t.testdir());
  t.same(
    config.listen.map((l) => l.port),
    [5353],
    'DNS on an unprivileged port',
  );
  t.equal(config.admin.listen?.host, '127.0.0.1', 'admin API on loopback');
  t.equal(config.metrics.listen?.host, '0.0.0.0', 'metrics reachable by Prometheus');
  t.equal(config.stateDir, '/var/lib/roje');
  t.same(config.admin.tokens, [], 'the placeholder Secret holds no token');
  t.ok(config.upstreams.length > 0, 'explicit upstreams, not the cluster DNS');
});

t.test("the probes' paths and ports are the config's admin listener", async (t) => {
  const config = await clusterConfig(t.testdir());
  const admin = config.admin.listen;
  if (admin === null) throw new Error('admin API off: the probes have nothing to ask');
  for (const [name, path] of [
    ['startupProbe', '/health'],
    ['livenessProbe', '/health'],
    ['readinessProbe', '/ready'],
  ] as const) {
    const url = probeUrl(container[name]);
    t.equal(url.pathname, path, `${name} path`);
    t.equal(url.hostname, admin.host, `${name} host`);
    t.equal(Number(url.port), admin.port, `${name} port`);
    t.equal(container[name].exec.command[0], 'node', `${name} runs the image's node`);
  }
  t.notOk(
    container.ports.some((p: { containerPort: number }) => p.containerPort === admin.port),
    'the admin port is not exposed',
  );
});

t.test('the readiness probe exits 0 on 200 and 1 on 503 or no answer', async (t) => {
  let status = 200;
  const server = createServer((_req, res) => res.writeHead(status).end());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const { port } = server.address() as AddressInfo;
  const script = (base: string) =>
    (container.readinessProbe.exec.command[2] as string).replace('http://127.0.0.1:8053', base);
  const run = (code: string) =>
    new Promise<number>((resolve) => {
      execFile(process.execPath, ['-e', code], { timeout: 10_000 }, (err) => {
        resolve(err === null ? 0 : typeof err.code === 'number' ? err.code : -1);
      });
    });
  t.equal(await run(script(`http://127.0.0.1:${port}`)), 0, 'ready');
  status = 503;
  t.equal(await run(script(`http://127.0.0.1:${port}`)), 1, 'not ready');
  // A closed port: connection refused.
  const closed = await withClosedPort(
    'tcp',
    (port) => run(script(`http://127.0.0.1:${port}`)),
    (code) => code === 1,
  );
  t.equal(closed, 1, 'not listening');
});

t.test('the container ports are the config listeners; the Services point at them', async (t) => {
  const config = await clusterConfig(t.testdir());
  const ports = new Map<string, { containerPort: number; protocol: string }>(
    container.ports.map((p: { name: string; containerPort: number; protocol: string }) => [p.name, p]),
  );
  const dnsPort = config.listen[0]?.port;
  t.same(ports.get('dns-udp'), { name: 'dns-udp', containerPort: dnsPort, protocol: 'UDP' });
  t.same(ports.get('dns-tcp'), { name: 'dns-tcp', containerPort: dnsPort, protocol: 'TCP' });
  t.equal(ports.get('metrics')?.containerPort, config.metrics.listen?.port);

  const labels = deployment.spec.template.metadata.labels;
  const selects = (selector: Record<string, string>) =>
    Object.entries(selector).every(([k, v]) => labels[k] === v);
  const dns = get('Service/roje-dns');
  t.ok(selects(dns.spec.selector), 'the DNS Service selects the pods');
  const byProtocol = (protocol: string) =>
    dns.spec.ports.find((p: { protocol: string }) => p.protocol === protocol);
  for (const protocol of ['UDP', 'TCP']) {
    const p = byProtocol(protocol);
    t.equal(p?.port, 53, `${protocol} on 53`);
    t.equal(ports.get(p?.targetPort)?.protocol, protocol, `${protocol} targets a ${protocol} container port`);
  }
  t.equal(dns.spec.externalTrafficPolicy, 'Local', 'client addresses are kept for the ACL and venues');

  const metrics = get('Service/roje-metrics');
  t.ok(selects(metrics.spec.selector), 'the metrics Service selects the pods');
  t.equal(ports.get(metrics.spec.ports[0].targetPort)?.containerPort, config.metrics.listen?.port);

  const monitor = get('ServiceMonitor/roje');
  t.ok(
    Object.entries(monitor.spec.selector.matchLabels).every(([k, v]) => metrics.metadata.labels[k] === v),
    'the ServiceMonitor selects the metrics Service',
  );
  t.notOk(
    Object.entries(monitor.spec.selector.matchLabels).every(([k, v]) => dns.metadata.labels[k] === v),
    'but not the DNS Service',
  );
  t.equal(monitor.spec.endpoints[0].port, metrics.spec.ports[0].name);
  t.equal(monitor.spec.endpoints[0].path, '/metrics');
  t.equal(metrics.metadata.labels[monitor.spec.jobLabel], 'roje', 'job="roje", as RojeDown expects');
});

t.test('selectors: the Deployment, the PDB and the spread constraints match the pod labels', async (t) => {
  const labels = deployment.spec.template.metadata.labels;
  const matches = (selector: Record<string, string>) =>
    Object.entries(selector).every(([k, v]) => labels[k] === v);
  t.ok(matches(deployment.spec.selector.matchLabels), 'Deployment selector');
  const pdb = get('PodDisruptionBudget/roje');
  t.ok(matches(pdb.spec.selector.matchLabels), 'PDB selector');
  t.equal(pdb.spec.minAvailable, 1);
  t.ok(deployment.spec.replicas > pdb.spec.minAvailable, 'a drain can evict one pod');
  t.ok(pod.topologySpreadConstraints.length > 0);
  for (const c of pod.topologySpreadConstraints) t.ok(matches(c.labelSelector.matchLabels), c.topologyKey);
  t.equal(deployment.spec.strategy.rollingUpdate.maxUnavailable, 0);
});

t.test('mounts: the config file, the tokens Secret and a writable stateDir', async (t) => {
  const config = await clusterConfig(t.testdir());
  const volumes = new Map(pod.volumes.map((v: { name: string }) => [v.name, v]));
  const mounts = container.volumeMounts as Array<{ name: string; mountPath: string; readOnly?: boolean }>;
  const mount = (path: string) => mounts.find((m) => m.mountPath === path);
  const args = container.args as string[];
  const configPath = args[args.indexOf('--config') + 1];
  t.equal(configPath, mount(configPath ?? '')?.mountPath, '--config is a mounted file');
  t.match(volumes.get(mount(configPath ?? '')?.name ?? ''), { configMap: { name: 'roje-config' } });
  const state = mount(config.stateDir ?? '');
  t.ok(state, 'stateDir is a volume (the root file system is read-only)');
  t.notOk(state?.readOnly);
  t.match(volumes.get(state?.name ?? ''), { emptyDir: {} });
  t.match(volumes.get('admin-tokens'), { secret: { secretName: 'roje-admin-tokens' } });
  t.notOk(
    args.includes('--listen'),
    "the image's --listen 0.0.0.0:53 is not passed: the config's listen applies",
  );
});

t.test('the pod is hardened', async (t) => {
  t.equal(pod.securityContext.runAsNonRoot, true);
  t.ok(pod.securityContext.runAsUser > 0);
  t.equal(pod.securityContext.seccompProfile.type, 'RuntimeDefault');
  t.equal(pod.automountServiceAccountToken, false);
  const sc = container.securityContext;
  t.equal(sc.readOnlyRootFilesystem, true);
  t.equal(sc.allowPrivilegeEscalation, false);
  t.not(sc.privileged, true);
  t.same(sc.capabilities.drop, ['ALL']);
  t.same(sc.capabilities.add ?? [], ['NET_BIND_SERVICE'], 'only the capability the image needs to exec node');
  for (const kind of ['requests', 'limits']) {
    t.ok(container.resources[kind].cpu, `${kind}.cpu`);
    t.ok(container.resources[kind].memory, `${kind}.memory`);
  }
  const config = await clusterConfig(t.testdir());
  const preStop = Number(container.lifecycle?.preStop?.exec?.command?.[1] ?? 0);
  t.ok(
    pod.terminationGracePeriodSeconds * 1000 > preStop * 1000 + config.shutdown.drainTimeoutMs,
    'the grace period covers the preStop pause and the drain',
  );
  t.equal(get('Namespace/roje').metadata.labels['pod-security.kubernetes.io/enforce'], 'restricted');
});

/** `roje serve` with these arguments, the config path swapped for a missing file: exit code and stderr. */
async function serveFlags(args: string[], missing: string): Promise<{ code: number; stderr: string }> {
  const i = args.indexOf('--config');
  const swapped = args.map((a, j) => (j === i + 1 ? missing : a));
  const stderr = new PassThrough();
  const chunks: Buffer[] = [];
  stderr.on('data', (c: Buffer) => chunks.push(c));
  const code = await serve(swapped, { stdout: new PassThrough(), stderr });
  return { code, stderr: Buffer.concat(chunks).toString('utf8') };
}

t.test("the container's arguments are flags roje serve knows", async (t) => {
  const args = container.args as string[];
  t.equal(args[0], 'serve');
  const missing = join(t.testdir(), 'absent.yaml');
  const { code, stderr } = await serveFlags(args.slice(1), missing);
  t.equal(code, 2);
  t.match(
    stderr,
    `config error in ${missing}: cannot read the file`,
    'the flags parsed; the config was read',
  );
  t.notMatch(stderr, /Unknown option|Run "roje help"/);
});

// ---- systemd ------------------------------------------------------------------------------------

const unitText = readFileSync(UNIT, 'utf8');
/** Directives of the unit, by name (a name given twice keeps both values). */
const directives = new Map<string, string[]>();
for (const line of unitText.split('\n')) {
  const m = /^([A-Za-z]+)=(.*)$/.exec(line.trim());
  if (m?.[1] === undefined || m[2] === undefined) continue;
  directives.set(m[1], [...(directives.get(m[1]) ?? []), m[2]]);
}
const directive = (name: string) => directives.get(name)?.at(-1);

t.test('the systemd unit holds its hardening directives', async (t) => {
  const expected: Record<string, string | RegExp> = {
    Type: 'simple',
    ExecReload: /kill -HUP \$MAINPID$/,
    User: 'roje',
    StateDirectory: 'roje',
    AmbientCapabilities: 'CAP_NET_BIND_SERVICE',
    CapabilityBoundingSet: 'CAP_NET_BIND_SERVICE',
    NoNewPrivileges: 'yes',
    ProtectSystem: 'strict',
    ProtectHome: 'yes',
    PrivateTmp: 'yes',
    PrivateDevices: 'yes',
    ProtectKernelTunables: 'yes',
    ProtectKernelModules: 'yes',
    ProtectKernelLogs: 'yes',
    ProtectControlGroups: 'yes',
    RestrictAddressFamilies: 'AF_INET AF_INET6 AF_UNIX',
    RestrictNamespaces: 'yes',
    LockPersonality: 'yes',
    MemoryDenyWriteExecute: 'no',
    SystemCallFilter: '@system-service',
    Restart: 'on-failure',
    RestartPreventExitStatus: '2',
  };
  for (const [name, value] of Object.entries(expected)) {
    if (typeof value === 'string') t.equal(directive(name), value, name);
    else t.match(directive(name), value, name);
  }
  t.notOk(directive('DynamicUser'), 'a system user, not DynamicUser');
  t.ok(Number(directive('LimitNOFILE')) >= 4096, 'LimitNOFILE');
  t.match(unitText, /MemoryDenyWriteExecute=no/);
  t.match(unitText, /JIT/, 'the reason W^X stays off is written down');
});

t.test("the unit's TimeoutStopSec covers the reference drainTimeout", async (t) => {
  const reference = await loadConfig({
    file: fileURLToPath(new URL('../../deploy/roje.yaml', import.meta.url)),
  });
  const stop = parseDuration(directive('TimeoutStopSec'));
  if (stop === null) throw new Error(`TimeoutStopSec "${directive('TimeoutStopSec')}" is not a duration`);
  t.ok(stop > reference.shutdown.drainTimeoutMs, `${stop} ms > ${reference.shutdown.drainTimeoutMs} ms`);
});

t.test("the unit's ExecStart runs roje serve with flags it knows", async (t) => {
  const exec = (directive('ExecStart') ?? '').split(/\s+/);
  t.equal(exec[0], '/usr/bin/node');
  t.equal(exec[1], '/opt/roje/dist/main.js');
  t.equal(exec[2], 'serve');
  t.equal(exec[exec.indexOf('--config') + 1], '/etc/roje/roje.yaml');
  const missing = join(t.testdir(), 'absent.yaml');
  const { code, stderr } = await serveFlags(exec.slice(3), missing);
  t.equal(code, 2);
  t.match(stderr, `config error in ${missing}: cannot read the file`);
  t.notMatch(stderr, /Unknown option/);
});

// Without systemd-analyze (macOS, minimal containers) the check is skipped, not passed.
const hasSystemdAnalyze =
  spawnSync('systemd-analyze', ['--version'], { timeout: 10_000 }).error === undefined;

t.test(
  'systemd-analyze verify accepts the unit',
  { skip: hasSystemdAnalyze ? false : 'systemd-analyze is not installed' },
  async (t) => {
    // verify checks that ExecStart's program exists: point it at this node, wherever it is installed.
    const file = join(t.testdir(), 'roje.service');
    writeFileSync(file, unitText.replace('ExecStart=/usr/bin/node', `ExecStart=${process.execPath}`));
    const result = await new Promise<{ err: ExecFileException | null; output: string }>((resolve) => {
      execFile('systemd-analyze', ['verify', file], { timeout: 30_000 }, (err, stdout, stderr) =>
        resolve({ err, output: `${stdout}${stderr}` }),
      );
    });
    // Lines about other units on this machine are not ours; any line naming roje.service is.
    const ours = result.output.split('\n').filter((l) => l.includes('roje.service'));
    t.same(ours, [], 'no warning about roje.service');
    t.equal(result.err, null, result.output);
  },
);
