// The real `gridline-server` for the browser tests: a process on a free loopback port with a temporary data
// directory, ready when `startServer` returns (the test kit's probe: GET /healthz answers 200, polled every
// 20 ms for at most 30 s; a server that exits first fails at once with its status), stopped by `stop()`;
// and `admin` commands on its data directory.
import { spawn, execFile } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { existsSync, createWriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, basename } from 'node:path';
import { BIN_DIR, LOG_DIR, ensureDir } from './env.mjs';
import { until } from './poll.mjs';

/** The server binary under test. */
export const SERVER_BIN = join(BIN_DIR, 'gridline-server');

/** How long a started server may take to answer /healthz. */
export const READY_WITHIN_MS = 30_000;

/** How long a stopped server may take to exit before it is killed. */
const STOP_WITHIN_MS = 10_000;

/** The SQLite file in a data directory (`sync-server/src/storage/sqlite.rs`, `DB_FILE`). */
export const DB_FILE = 'gridline-server.sqlite';

/** A free loopback port (free when asked; another process may take it before the server binds it). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

/** Runs a program; resolves `{code, stdout, stderr}` (never rejects on a non-zero exit). */
export function run(program, args, { input, env, timeout = 60_000 } = {}) {
  return new Promise((resolve, reject) => {
    const child = execFile(
      program,
      args,
      { env: { ...process.env, ...env }, timeout, maxBuffer: 16 * 1024 * 1024, encoding: 'utf8' },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') return reject(error);
        resolve({ code: error ? error.code : 0, stdout, stderr });
      },
    );
    if (input !== undefined) child.stdin.end(input);
    else child.stdin.end();
  });
}

/** A running `gridline-server serve`. */
export class Server {
  constructor({ child, data, port, name, log }) {
    this.child = child;
    this.data = data;
    this.port = port;
    this.name = name;
    this.url = `http://127.0.0.1:${port}`;
    this.output = '';
    this.exited = null;
    this.log = log;
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    const keep = (chunk) => {
      this.output += chunk;
      log.write(chunk);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    this.done = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exited = { code, signal };
        resolve(this.exited);
      });
    });
  }

  /** The SQLite file of its data directory. */
  get dbFile() {
    return join(this.data, DB_FILE);
  }

  /** Waits for /healthz to answer 200; throws when the process exits first. */
  async ready() {
    await until(
      `${this.name}: GET ${this.url}/healthz`,
      async () => {
        if (this.exited) {
          throw new Error(`the server exited before it was ready (${JSON.stringify(this.exited)}):\n${this.output}`);
        }
        const res = await fetch(`${this.url}/healthz`, { signal: AbortSignal.timeout(1000) });
        return res.status === 200;
      },
      { within: READY_WITHIN_MS },
    ).catch((e) => {
      // A server that exited is the failure to report, not the probe's last refused connection.
      if (this.exited) throw new Error(`the server exited before it was ready (${JSON.stringify(this.exited)}):\n${this.output}`);
      throw e;
    });
  }

  /** The first-admin setup link the server printed on standard output (a fresh data directory). */
  async setupLink() {
    return until(`${this.name}: the setup link on standard output`, () => {
      const m = /(http:\/\/\S+\/console\/setup\?token=[0-9a-f]+)/.exec(this.output);
      return m ? m[1] : undefined;
    }, { within: 5_000 });
  }

  /** `gridline-server admin --data DATA --json ARGS…`; returns the document; throws when it fails. */
  async admin(args, { input } = {}) {
    const out = await run(SERVER_BIN, ['admin', '--data', this.data, '--json', ...args], { input });
    let doc;
    try {
      doc = JSON.parse(out.stdout);
    } catch {
      throw new Error(`admin ${args.join(' ')} printed no JSON (exit ${out.code}): ${out.stdout}${out.stderr}`);
    }
    if (out.code !== 0) throw new Error(`admin ${args.join(' ')} failed (exit ${out.code}): ${out.stdout}`);
    return doc;
  }

  /** A community; returns its id. */
  async createCommunity(name) {
    return (await this.admin(['community', 'create', '--name', name])).community_id;
  }

  /** A console account; returns `{staff_id, user, role}`. */
  async addStaff({ community, user, role, password }) {
    return this.admin(
      ['staff', 'add', '--community', community, '--user', user, '--role', role, '--password-stdin'],
      { input: `${password}\n` },
    );
  }

  /** Imports a roster CSV (text) into a community; returns the import's counts. */
  async importRoster(community, csv) {
    const file = join(this.data, `roster-${Date.now()}.csv`);
    await writeFile(file, csv);
    return this.admin(['roster', 'import', '--community', community, file]);
  }

  /** A one-time enrollment code for a phone. */
  async enrollmentCode({ community, user, role = 'grid_leader', grids = [] }) {
    const gridArgs = grids.flatMap((g) => ['--grid', g]);
    return (await this.admin(['enroll', '--community', community, '--user', user, '--role', role, ...gridArgs])).code;
  }

  /** Runs SQL on the server's SQLite file with python3's sqlite3 (the server keeps running; WAL allows it). */
  async sql(statement, params = []) {
    const script =
      'import json, sqlite3, sys\n' +
      'db = sqlite3.connect(sys.argv[1], timeout=10)\n' +
      'cur = db.execute(sys.argv[2], json.loads(sys.argv[3]))\n' +
      'rows = cur.fetchall()\n' +
      'db.commit()\n' +
      'print(json.dumps({"rows": rows, "changed": db.total_changes}))\n';
    const out = await run('python3', ['-c', script, this.dbFile, statement, JSON.stringify(params)]);
    if (out.code !== 0) throw new Error(`sql ${statement}: ${out.stderr}`);
    return JSON.parse(out.stdout);
  }

  /** Stops the server (SIGTERM, then SIGKILL after 10 s) and removes its data directory. */
  async stop() {
    if (!this.exited) {
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), STOP_WITHIN_MS);
      await this.done;
      clearTimeout(timer);
    }
    await new Promise((resolve) => this.log.end(resolve));
    if (!process.env.GRIDLINE_KEEP_DATA) await rm(this.data, { recursive: true, force: true });
  }
}

const running = new Set();
process.once('exit', () => {
  for (const s of running) if (!s.exited) s.child.kill('SIGKILL');
});

/**
 * Starts `gridline-server serve` on a fresh temporary data directory and a free loopback port; returns once
 * it is ready. `name` names its log file under `TARGET/console-logs/`.
 */
export async function startServer(name, { env } = {}) {
  if (!existsSync(SERVER_BIN)) {
    throw new Error(`${SERVER_BIN} is missing: build it (cargo build -p gridline-server -p gridline) or set GRIDLINE_BIN_DIR`);
  }
  const data = await mkdtemp(join(tmpdir(), 'gridline-console-'));
  const port = await freePort();
  const log = createWriteStream(join(ensureDir(LOG_DIR), `${basename(name)}.log`));
  const child = spawn(
    SERVER_BIN,
    ['serve', '--data', data, '--listen', `127.0.0.1:${port}`, '--metrics-listen', 'off'],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1', ...env } },
  );
  const server = new Server({ child, data, port, name, log });
  running.add(server);
  child.once('exit', () => running.delete(server));
  try {
    await server.ready();
  } catch (e) {
    await server.stop();
    throw e;
  }
  return server;
}
