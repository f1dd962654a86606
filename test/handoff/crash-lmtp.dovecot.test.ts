import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type DovecotServer, describeWithDovecot, startDovecot } from '../helpers/dovecot.js';
import { bundleExample } from '../support/bundle-example.js';
import { projectRoot, startCollector } from '../support/collector-command.js';
import { killRepeatedly } from '../support/kill-loop.js';
import { discardedCopies, shippedDedupeRecipe } from '../support/lmtp-recipe.js';
import { seededRandom, seqOf, testMessage } from '../support/messages.js';

/**
 * Exactly once end to end over LMTP: `multipop collect` (the CLI, as admins run it) hands every
 * message to a real Dovecot over LMTP, where the shipped Sieve `duplicate` recipe runs. The
 * command is killed with SIGKILL at seeded random moments — start-up, login, mid-message, after
 * Dovecot's 250 and before the ledger commit, DELE, QUIT — and started again; a last run goes
 * to the end. Then every seeded message is in the local Dovecot mailbox exactly once, byte for
 * byte after the headers Dovecot and multipop put in front, and none is left on the remote one.
 */
const SEED = Number(process.env['CRASH_SEED'] ?? 20261206);
/** Kills; `CRASH_KILLS` lowers it for a quick local run (CI runs at least 100). */
const MIN_KILLS = Number(process.env['CRASH_KILLS'] ?? 100);
const MESSAGES = 120;

/** Files Dovecot's LMTP delivery has put into the local user's Maildir. */
function delivered(maildir: string): number {
  try {
    return readdirSync(join(maildir, 'new')).length + readdirSync(join(maildir, 'cur')).length;
  } catch {
    return 0;
  }
}

describeWithDovecot('crash safety over LMTP with the Sieve duplicate recipe', () => {
  let dovecot: DovecotServer;
  let work: string;
  let cli: string;

  beforeAll(async () => {
    dovecot = await startDovecot({
      users: [
        { name: 'remote', password: 'remote-pass-1' },
        { name: 'local', password: 'local-pass-1' },
      ],
      sieveBefore: shippedDedupeRecipe(),
      // Local LMTP on loopback, as the recipe's multipop.json has it: plain text.
      extraConfig: 'protocol lmtp {\n  ssl = no\n}',
    });
    work = await mkdtemp(join(tmpdir(), 'multipop-crash-lmtp-'));
    await writeFile(join(work, 'ca.pem'), dovecot.caPem);
    await writeFile(join(work, 'store.key'), Buffer.alloc(32, 9).toString('base64'));
    // The recipe's own config file, pointed at the test servers.
    const config = JSON.parse(
      readFileSync(join(projectRoot, 'examples/lmtp-exactly-once/multipop.json'), 'utf8'),
    );
    config.store = { path: join(work, 'state/multipop.sqlite'), keyFile: join(work, 'store.key') };
    config.queue = { ...config.queue, host: dovecot.host, port: dovecot.lmtpPort };
    config.caFile = join(work, 'ca.pem');
    config.timeoutSeconds = 10;
    config.users = [
      {
        id: 'local',
        entries: [
          {
            ...config.users[0].entries[0],
            server: `${dovecot.host}:${dovecot.popsPort}`,
            username: 'remote',
            password: 'remote-pass-1',
          },
        ],
      },
    ];
    await writeFile(join(work, 'multipop.json'), JSON.stringify(config, null, 2));
    cli = await bundleExample('src/cli/main.ts');
  });
  afterAll(async () => {
    await dovecot?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it(`≥${MIN_KILLS} SIGKILLs: nothing lost, nothing delivered twice, bytes identical`, {
    timeout: 600_000, // 2 min on a quiet machine; more than 5 under a loaded shared one
  }, async () => {
    const random = seededRandom(SEED);
    const local = dovecot.maildir('local');
    const args = ['collect', '--config', join(work, 'multipop.json'), '--json'];
    const run = () => startCollector({}, cli, args);
    const originals = new Map<number, Buffer>();
    let nextSeq = 0;
    const seedBatch = async (count: number) => {
      const batch: Buffer[] = [];
      for (let i = 0; i < count; i++) {
        const seq = nextSeq++;
        const message = testMessage(seq, 1_000 + Math.floor(random() * 20_000));
        originals.set(seq, message);
        batch.push(message);
      }
      await dovecot.seed('remote', batch);
    };
    await seedBatch(MESSAGES);

    const { rounds, kills, midKills, completions } = await killRepeatedly({
      random,
      kills: MIN_KILLS,
      start: run,
      delivered: () => delivered(local),
      maxMessagesBeforeKill: 12,
      maxExtraMs: 30,
      onCompleted: () => seedBatch(30),
    });
    const final = await run().done;
    expect(final.stderr).toBe('');
    expect(final.code).toBe(0);

    const seen = new Map<number, number>();
    const files = await dovecot.messages('local');
    for (const file of files) {
      const seq = seqOf(file);
      expect(seq, 'every delivered message is one of ours').toBeDefined();
      seen.set(seq!, (seen.get(seq!) ?? 0) + 1);
      const original = originals.get(seq!)!;
      const added = file.subarray(0, file.length - original.length).toString('latin1');
      expect(
        file.subarray(file.length - original.length).equals(original),
        `message ${seq} byte-identical`,
      ).toBe(true);
      // In front: Dovecot's Return-Path/Delivered-To/Received, our key and trace header — header
      // fields only, so the original's own header block follows unchanged.
      expect(added).toMatch(/\r\nX-MultiPOP-Key: [0-9a-f]{64}\r\nReceived: from /);
      expect(added).toMatch(/\r\nX-MultiPOP-Source: [^\r\n]*\r\n$/);
      expect(added.includes('\r\n\r\n')).toBe(false);
    }
    const duplicated = [...seen.values()].filter((n) => n > 1).length;
    const lost = [...originals.keys()].filter((seq) => !seen.has(seq)).length;
    const left = (await dovecot.messages('remote')).length;
    const discarded = discardedCopies(await dovecot.logText());
    console.info(
      `LMTP crash suite: seed ${SEED}, ${rounds} runs, ${kills} kills (${midKills} mid-collection), ` +
        `${completions} ran to the end, ${originals.size} messages, lost ${lost}, duplicated ${duplicated}, ` +
        `left on server ${left}, second copies discarded by Sieve ${discarded}`,
    );
    expect(kills).toBeGreaterThanOrEqual(MIN_KILLS);
    expect(midKills, 'most kills must land while messages are being collected').toBeGreaterThanOrEqual(
      MIN_KILLS / 2,
    );
    expect(lost).toBe(0);
    expect(duplicated).toBe(0);
    expect(files.length).toBe(originals.size);
    expect(left).toBe(0);
    // Proof that the kills hit the window the recipe closes (a typical run: dozens of copies).
    expect(discarded, 'second copies offered and discarded by Sieve').toBeGreaterThan(0);
  });
});
