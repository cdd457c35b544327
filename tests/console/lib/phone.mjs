// A grid leader's phone: the `gridline` CLI (the headless field client) on its own device store, enrolled
// with the test's server over plain HTTP to loopback (allowed without --insecure-http).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN_DIR } from './env.mjs';
import { run } from './server.mjs';

/** The CLI binary under test. */
export const CLI_BIN = join(BIN_DIR, 'gridline');

export class Phone {
  constructor(store, name) {
    this.store = store;
    this.name = name;
  }

  /** Enrolls a new phone with a one-time code the server's admin issued. */
  static async enroll(server, code, name = 'phone') {
    const store = await mkdtemp(join(tmpdir(), 'gridline-phone-'));
    const phone = new Phone(store, name);
    phone.device = await phone.cli(['enroll', '--server', server.url, '--code', code]);
    return phone;
  }

  /**
   * `gridline --store STORE --json ARGS…`; returns the document; throws with the error document on failure.
   * `env` adds variables (e.g. `GRIDLINE_NOW` to back-date a report).
   */
  async cli(args, { env } = {}) {
    const out = await run(CLI_BIN, ['--store', this.store, '--json', ...args], { env });
    let doc;
    try {
      doc = JSON.parse(out.stdout);
    } catch {
      throw new Error(`${this.name}: gridline ${args.join(' ')} printed no JSON (exit ${out.code}): ${out.stdout}${out.stderr}`);
    }
    if (out.code !== 0) throw new Error(`${this.name}: gridline ${args.join(' ')} failed (exit ${out.code}): ${out.stdout}`);
    return doc;
  }

  /** Reports an incident (at `now`, RFC 3339, when given: the phone's clock); returns its id. */
  async report({ household, grid, category = 'facility_repair', severity = 'normal', title, description = '', photos = [], now }) {
    const args = ['incident', 'report', '--category', category, '--severity', severity, '--title', title];
    if (household) args.push('--household', household);
    if (grid) args.push('--grid', grid);
    if (description) args.push('--description', description);
    for (const p of photos) args.push('--photo', p);
    return (await this.cli(args, { env: now ? { GRIDLINE_NOW: now } : undefined })).incident_id;
  }

  /** Syncs with the server; returns the sync report and the time the command ended (ms since the epoch). */
  async sync() {
    const report = await this.cli(['sync']);
    const endedAt = Date.now();
    if (report.refused && report.refused.length) {
      throw new Error(`${this.name}: the server refused documents: ${JSON.stringify(report.refused)}`);
    }
    return { report, endedAt };
  }

  /** `incident show --json`. */
  async show(id) {
    return this.cli(['incident', 'show', id]);
  }

  /** `incident act ID ACTION`, e.g. `act(id, 'evaluate', ['--satisfied', 'yes'])`. */
  async act(id, action, extra = []) {
    return this.cli(['incident', 'act', id, action, ...extra]);
  }

  /** Removes the phone's store. */
  async discard() {
    await rm(this.store, { recursive: true, force: true });
  }
}
