/**
 * dnsperf input files. Hits: real names (the head of the Tranco list), so QNAME lengths look like real
 * traffic; the upstream answers any name. Misses: unique random names, each asked once, so that every query
 * of the miss case has to go upstream.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';

export const TRANCO_FILE = '/work/shared/data/workload/tranco-top50k.2025-02.csv.xz';

const HOSTNAME =
  /^(?=.{1,253}$)([a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)(\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)*$/;

/** The first `count` valid host names of a `rank,name` CSV compressed with xz (read with `xz -dc`). */
export async function readTrancoNames(file: string, count: number): Promise<string[]> {
  const xz = spawn('xz', ['-dc', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  xz.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  const exited = new Promise<void>((resolve) => xz.once('close', () => resolve()));
  const names: string[] = [];
  const lines = createInterface({ input: xz.stdout, crlfDelay: Number.POSITIVE_INFINITY });
  for await (const line of lines) {
    const name = line
      .slice(line.indexOf(',') + 1)
      .trim()
      .toLowerCase();
    if (HOSTNAME.test(name)) names.push(name);
    if (names.length >= count) break;
  }
  xz.kill();
  await exited;
  if (names.length < count) {
    throw new Error(
      `${file} gave ${names.length} names, ${count} wanted${stderr ? `: ${stderr.trim()}` : ''}`,
    );
  }
  return names;
}

export async function writeQueryFile(file: string, names: readonly string[]): Promise<void> {
  await writeFile(file, names.map((n) => `${n} A\n`).join(''));
}

/**
 * `count` names that no server has seen, under `miss.bench.example` (not one of the special-use zones that
 * unbound or roje might answer locally). A counter makes them unique; random bytes keep them unguessable
 * for any cache that might key on prefixes.
 */
export async function writeMissFile(file: string, count: number, prefix = 'm'): Promise<void> {
  const out = createWriteStream(file);
  const CHUNK = 10_000;
  for (let start = 0; start < count; start += CHUNK) {
    const end = Math.min(count, start + CHUNK);
    const salt = randomBytes((end - start) * 3);
    let text = '';
    for (let i = start; i < end; i++) {
      text += `${prefix}${i.toString(36)}${salt.toString('hex', (i - start) * 3, (i - start) * 3 + 3)}.miss.bench.example A\n`;
    }
    if (!out.write(text)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
  }
  await new Promise<void>((resolve, reject) => {
    out.once('error', reject);
    out.end(() => resolve());
  });
}
