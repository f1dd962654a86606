import { readdirSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type DovecotServer, describeWithDovecot, startDovecot } from '../helpers/dovecot.js';
import { bundleExample } from '../support/bundle-example.js';
import { projectRoot, readMaildir, startCollector } from '../support/collector-command.js';
import { type KillReport, killWindow, readRunState } from '../support/kill-window.js';
import { seededRandom, seqOf, testMessage } from '../support/messages.js';

/**
 * Crash safety, proven with real processes and a real server: the collector command is killed
 * with SIGKILL and restarted, over and over. A quarter of the kills land at seeded random
 * moments (start-up, connect, login, listing, mid-message, QUIT); the rest are aimed at the
 * windows inside a batch by test/support/kill-points.mjs — after a message file's sync and
 * before the sync of new/, between the queue's sync and the ledger's, between the ledger's
 * WAL sync and the DELEs, and at a DELE. After each aimed kill the suite reads the Maildir and the
 * ledger to see that the kill really left that window's state (with how many messages in it:
 * the batch). At the end every seeded message is in the Maildir
 * exactly once, byte for byte, and none is left on the server (delete mode) — or all are
 * (leave mode).
 */
/** Files in the Maildir's new/ (where the Maildir queue renames complete messages). */
function countDelivered(maildir: string): number {
  try {
    return readdirSync(join(maildir, 'new')).length;
  } catch {
    return 0;
  }
}

const SEED = Number(process.env['CRASH_SEED'] ?? 20261127);
/** Kills per mode; `CRASH_KILLS` overrides (the issue asks for at least 100). */
const MIN_KILLS = Number(process.env['CRASH_KILLS'] ?? 100);
/** Of those, kills aimed inside a batch (issue #11 asks for at least 100 per mode). */
const MIN_BATCH_KILLS = Number(process.env['CRASH_BATCH_KILLS'] ?? 100);
const KILL_POINTS = join(projectRoot, 'test/support/kill-points.mjs');
const MESSAGES = 1_000;
/**
 * The Nth time a point is reached is drawn from 1..MAX_NTH[point]. Batched, a run syncs new/
 * and the WAL once per batch, not per message: so that most aimed runs are killed rather than
 * run to the end, those points are aimed within fewer occurrences than per-message ones.
 */
const MAX_NTH: Record<string, number> = { file: 40, new: 20, wal: 20, dele: 40 };

describeWithDovecot('crash safety: SIGKILL at random moments', () => {
  let dovecot: DovecotServer;
  let work: string;
  let bundle: string;

  beforeAll(async () => {
    dovecot = await startDovecot({
      users: [
        { name: 'crash', password: 'crash-pass-1' },
        { name: 'keep', password: 'keep-pass-1' },
      ],
    });
    work = await mkdtemp(join(tmpdir(), 'multipop-crash-'));
    await writeFile(join(work, 'ca.pem'), dovecot.caPem);
    bundle = await bundleExample('examples/collect-to-maildir.ts');
  });
  afterAll(async () => {
    await dovecot?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  for (const mode of ['delete', 'keep'] as const) {
    it(`${mode} mode: ≥${MIN_KILLS} kills, nothing lost, nothing duplicated, bytes identical`, {
      timeout: 900_000,
    }, async () => {
      const user = mode === 'delete' ? 'crash' : 'keep';
      const random = seededRandom(SEED + (mode === 'delete' ? 0 : 1));
      const maildir = join(work, `maildir-${mode}`);
      const stateDir = join(work, `state-${mode}`);
      const killReport = join(work, `kill-${mode}.json`);
      const env = {
        POP_HOST: dovecot.host,
        POP_PORT: String(dovecot.popsPort),
        POP_TLS: 'implicit',
        POP_CA: join(work, 'ca.pem'),
        POP_USER: user,
        POP_PASS: `${user}-pass-1`,
        MAILDIR: maildir,
        STATE_DIR: stateDir,
        KEEP: mode === 'keep' ? '1' : '0',
        POP_TIMEOUT: '10',
      };
      const originals = new Map<number, Buffer>();
      let nextSeq = 0;
      const seedBatch = async (count: number) => {
        const batch: Buffer[] = [];
        for (let i = 0; i < count; i++) {
          const seq = nextSeq++;
          const message = testMessage(seq, 1_000 + Math.floor(random() * 30_000));
          originals.set(seq, message);
          batch.push(message);
        }
        await dovecot.seed(user, batch);
      };
      await seedBatch(MESSAGES);

      let kills = 0;
      let midKills = 0;
      const batchKills = new Map<string, number>();
      /** Per point: aimed kills that left the window's state, and the messages found in it. */
      const hits = new Map<string, { hit: number; inWindow: number[] }>();
      const points = mode === 'delete' ? ['file', 'new', 'wal', 'dele'] : ['file', 'new', 'wal'];
      let completions = 0;
      let rounds = 0;
      let startupMs = 1_500; // running estimate of the time to the first delivered message
      const batchTotal = () => [...batchKills.values()].reduce((a, b) => a + b, 0);
      while (kills < MIN_KILLS || batchTotal() < MIN_BATCH_KILLS) {
        rounds++;
        const before = countDelivered(maildir);
        const started = Date.now();
        const aim = random();
        if (aim < 0.75) {
          // Aimed: the Nth time the process reaches one of the points inside a batch.
          const point = points[Math.floor(random() * points.length)]!;
          const nth = 1 + Math.floor(random() * MAX_NTH[point]!);
          const state = await readRunState(maildir, stateDir);
          await rm(killReport, { force: true });
          const aimed = startCollector(
            {
              ...env,
              NODE_OPTIONS: `--import ${KILL_POINTS}`,
              MULTIPOP_KILL_AT: `${point}:${nth}`,
              MULTIPOP_KILL_REPORT: killReport,
            },
            bundle,
          );
          const outcome = await aimed.done;
          if (outcome.signal === 'SIGKILL') {
            kills++;
            midKills++;
            batchKills.set(point, (batchKills.get(point) ?? 0) + 1);
            const report = JSON.parse(await readFile(killReport, 'utf8')) as KillReport;
            const found = await killWindow(
              maildir,
              state,
              await readRunState(maildir, stateDir),
              report,
              mode === 'delete',
            );
            const tally = hits.get(point) ?? { hit: 0, inWindow: [] };
            if (found.hit) {
              tally.hit++;
              tally.inWindow.push(found.inWindow);
            }
            hits.set(point, tally);
          } else {
            expect(outcome.stderr, 'an unkilled run must succeed').toBe('');
            expect(outcome.code).toBe(0);
            completions++;
            await seedBatch(60);
          }
          continue;
        }
        const run = startCollector(env, bundle);
        // Of the random kills, half land anywhere in start-up, connect, TLS, login and listing;
        // the rest mid-collection — after a random number of messages (and a random fraction of
        // a millisecond window), so they hit RETR, the queue, the ledger, DELE and QUIT.
        const early = aim < 0.875;
        const target = before + Math.floor(random() * 25);
        const extraMs = Math.floor(random() * 40);
        let killedMid = false;
        const timer = early
          ? setTimeout(() => run.child.kill('SIGKILL'), Math.floor(random() * startupMs))
          : setInterval(() => {
              if (countDelivered(maildir) > target) {
                clearInterval(timer);
                killedMid = true;
                setTimeout(() => run.child.kill('SIGKILL'), extraMs);
              }
            }, 3);
        const outcome = await run.done;
        clearTimeout(timer);
        clearInterval(timer);
        if (countDelivered(maildir) > before)
          startupMs = Math.max(300, Math.round((startupMs + (Date.now() - started)) / 2));
        if (outcome.signal === 'SIGKILL') {
          kills++;
          if (killedMid) midKills++;
        } else {
          expect(outcome.stderr, 'an unkilled run must succeed').toBe('');
          expect(outcome.code).toBe(0);
          completions++;
          // The run finished before the kill: give the next one new mail to work on.
          await seedBatch(60);
        }
      }
      const final = await startCollector(env, bundle).done;
      expect(final.stderr).toBe('');
      expect(final.code).toBe(0);

      const delivered = await readMaildir(maildir);
      const seen = new Map<number, number>();
      for (const file of delivered) {
        const seq = seqOf(file);
        expect(seq, 'every delivered file is one of ours').toBeDefined();
        seen.set(seq!, (seen.get(seq!) ?? 0) + 1);
        const original = originals.get(seq!)!;
        // Our trace header lines come first; the original follows byte for byte.
        expect(
          file.subarray(file.length - original.length).equals(original),
          `message ${seq} is byte-identical`,
        ).toBe(true);
        expect(file.subarray(0, file.length - original.length).toString('latin1')).toMatch(/^Received: /);
      }
      const duplicated = [...seen.values()].filter((n) => n > 1).length;
      const lost = [...originals.keys()].filter((seq) => !seen.has(seq)).length;
      const left = (await dovecot.messages(user)).length;
      const windows = points.map((p) => {
        const t = hits.get(p) ?? { hit: 0, inWindow: [] };
        const sorted = [...t.inWindow].sort((a, b) => a - b);
        const median = sorted[Math.floor(sorted.length / 2)] ?? 0;
        return `${p} ${t.hit}/${batchKills.get(p) ?? 0} in its window (messages in it: median ${median}, max ${sorted.at(-1) ?? 0})`;
      });
      console.info(
        `crash suite (${mode}): seed ${SEED}, ${rounds} runs, ${kills} kills (${midKills} mid-collection; inside a batch: ${windows.join(', ')}), ${completions} ran to the end, ` +
          `${originals.size} messages, lost ${lost}, duplicated ${duplicated}, left on server ${left}`,
      );
      expect(kills).toBeGreaterThanOrEqual(MIN_KILLS);
      expect(midKills, 'most kills must land while messages are being collected').toBeGreaterThanOrEqual(
        MIN_KILLS / 2,
      );
      expect(batchTotal()).toBeGreaterThanOrEqual(MIN_BATCH_KILLS);
      for (const point of points) {
        const aimed = batchKills.get(point) ?? 0;
        expect(aimed, `kills at ${point}`).toBeGreaterThan(0);
        // Nearly every aimed kill must have left its window's state; a few may not (a WAL sync
        // of the session's first transaction, a new/ sync of a retry's lookup).
        expect(
          hits.get(point)?.hit ?? 0,
          `kills at ${point} that landed in its window`,
        ).toBeGreaterThanOrEqual(Math.ceil(aimed * 0.8));
      }
      expect(lost).toBe(0);
      expect(duplicated).toBe(0);
      expect(delivered.length).toBe(originals.size);
      expect(left).toBe(mode === 'delete' ? 0 : originals.size);
    });
  }
});
