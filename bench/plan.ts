/**
 * plan() on a large maildrop: 100,000 messages kept on the server (leave-on-server with M6
 * expiry), most already collected — the worst case of a cycle that has little to do.
 * Target: under 50 ms. Run: `npx tsx bench/plan.ts [count]`.
 */
import { performance } from 'node:perf_hooks';
import { type ListedMessage, plan } from '../src/collect/plan.js';
import type { LedgerRecord } from '../src/ports/index.js';

const count = Number(process.argv[2] ?? 100_000);
const DAY = 86_400_000;
const now = Date.now();

const listing: ListedMessage[] = [];
const ledger = new Map<string, LedgerRecord>();
for (let i = 1; i <= count; i++) {
  // Realistic UIDLs: Dovecot-style `<uidvalidity hex><uid hex>` strings of ~24 characters.
  const uidl = `000000${(0x5f3a2b1c).toString(16)}${i.toString(16).padStart(8, '0')}`;
  listing.push({ msg: i, size: 2_000 + (i % 50_000), uidl });
  // 95% collected earlier (some due for expiry), 5% new; plus 1% of the ledger gone from the server.
  if (i % 20 !== 0) {
    ledger.set(uidl, {
      uidl,
      firstSeen: now - (i % 60) * DAY,
      collected: true,
      deletePending: false,
      oversizeReported: false,
    });
  }
  if (i % 100 === 0) {
    const gone = `gone-${i}`;
    ledger.set(gone, {
      uidl: gone,
      firstSeen: now - DAY,
      collected: true,
      deletePending: false,
      oversizeReported: false,
    });
  }
}
const policy = {
  leaveOnServer: true,
  deleteAfterMs: 30 * DAY,
  maxMessageSize: 40 * 1024,
  deleteOversized: false,
};

/** Median wall and CPU milliseconds of `run` over 20 rounds, after 5 to warm up the JIT. */
function measure(run: () => unknown): { wall: number; cpu: number; worst: number } {
  for (let i = 0; i < 5; i++) run();
  const walls: number[] = [];
  const cpus: number[] = [];
  for (let i = 0; i < 20; i++) {
    const cpu0 = process.cpuUsage();
    const start = performance.now();
    run();
    walls.push(performance.now() - start);
    const cpu = process.cpuUsage(cpu0);
    cpus.push((cpu.user + cpu.system) / 1000);
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  return { wall: median(walls), cpu: median(cpus), worst: Math.max(...walls) };
}

const result = plan({ listing, ledger, policy, now });
const timing = measure(() => plan({ listing, ledger, policy, now }));
// A yardstick for a shared or throttled machine: indexing the same listing into a Map, which any
// O(n) planner has to do at least once. plan() should stay a small multiple of it.
const baseline = measure(() => new Map(listing.map((m) => [m.uidl, m.msg])));
const median = timing.wall;

console.log(
  `plan() over ${count.toLocaleString('en')} listed messages, ${ledger.size.toLocaleString('en')} ledger records`,
);
console.log(
  `  fetch ${result.fetch.length}, delete ${result.delete.length}, skip ${result.skipOversize.length}, ` +
    `kept ${result.kept}, prune ${result.prune.length}`,
);
console.log(
  `  median ${median.toFixed(2)} ms wall, ${timing.cpu.toFixed(2)} ms CPU, worst ${timing.worst.toFixed(2)} ms ` +
    `(target < 50 ms: ${median < 50 ? 'met' : 'MISSED'})`,
);
console.log(
  `  yardstick (index the listing into a Map): ${baseline.wall.toFixed(2)} ms wall → plan() = ` +
    `${(median / baseline.wall).toFixed(1)}× the yardstick`,
);
