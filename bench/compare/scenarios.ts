/**
 * The benchmark scenarios (issue #7's five, and issue #11's S6) and how often each contender runs in them. Slow
 * contenders (fetchmail → LDA, getmail6) run fewer times, and every run is time-boxed, so the
 * whole benchmark fits in 10 minutes on 2 cores. `--quick` shrinks everything for a smoke run.
 */
import type { ContenderId } from './contenders.js';
import type { SizeProfile } from './messages.js';

/** One scenario's shape. */
export interface Scenario {
  id: 'S1' | 'S2' | 'S3' | 'S4' | 'S5' | 'S6';
  title: string;
  /** Mailboxes collected in one run (S5: many, through POP_ACCOUNTS). */
  mailboxes: number;
  /** Messages per mailbox per run (S3: the new ones). */
  messages: number;
  size: SizeProfile;
  /** Leave mail on the server and fetch only what is new (S3). */
  keep: boolean;
  /** S3: messages already on the server and in every contender's state before measuring. */
  backlog?: { messages: number; size: SizeProfile };
  /** S4: one-way delay added by the proxy, in ms. */
  latencyMs?: number;
  contenders: ContenderId[];
  /**
   * S6: the same scenario is also run with this many mailboxes first, so the report can show
   * how wall time, rate and memory grow with the number of mailboxes.
   */
  growthFrom?: number;
  /** Runs per contender: `slow` for contenders marked slow, `by` overrides per contender. */
  reps: { fast: number; slow: number; by?: Partial<Record<ContenderId, number>> };
  /** Time box per run, the same way; `prime` for S3's full first run over the backlog. */
  timeoutMs: { fast: number; slow: number; by?: Partial<Record<ContenderId, number>>; prime?: number };
}

/**
 * How many times `contender` runs in `scenario`.
 *
 * @example
 * ```ts
 * repsOf(scenario, { id: 'raw', slow: false });
 * ```
 */
export function repsOf(scenario: Scenario, contender: { id: ContenderId; slow: boolean }): number {
  return scenario.reps.by?.[contender.id] ?? (contender.slow ? scenario.reps.slow : scenario.reps.fast);
}

/**
 * The time box of one run of `contender` in `scenario`, in ms.
 *
 * @example
 * ```ts
 * timeoutOf(scenario, { id: 'getmail6', slow: true });
 * ```
 */
export function timeoutOf(scenario: Scenario, contender: { id: ContenderId; slow: boolean }): number {
  return (
    scenario.timeoutMs.by?.[contender.id] ??
    (contender.slow ? scenario.timeoutMs.slow : scenario.timeoutMs.fast)
  );
}

// multipop twice: as admins run it (the CLI, one process) and as the single-mailbox command.
// getmail6 and node-pop3 alter mail (issue #7); they run once in S1 and S2 only, to keep the
// whole benchmark within 10 minutes.
const SINGLE_SHORT: ContenderId[] = [
  'multipop-cli',
  'multipop',
  'raw-durable',
  'raw',
  'fetchmail-mda',
  'fetchmail-sink',
];
const SINGLE: ContenderId[] = [...SINGLE_SHORT, 'getmail6', 'node-pop3'];
// S5: the single-mailbox command runs once per mailbox, 8 at a time (multipop-par).
const MULTI: ContenderId[] = SINGLE_SHORT.map((id) => (id === 'multipop' ? 'multipop-par' : id));

/**
 * The scenarios, full size or (`quick`) shrunk for a smoke test.
 *
 * @example
 * ```ts
 * for (const scenario of scenarios(false)) console.log(scenario.id, scenario.title);
 * ```
 */
export function scenarios(quick: boolean): Scenario[] {
  const q = <T>(full: T, small: T): T => (quick ? small : full);
  return [
    {
      id: 'S1',
      title: 'collect and delete',
      mailboxes: 1,
      messages: q(2_000, 100),
      size: 'mixed',
      keep: false,
      contenders: SINGLE,
      reps: q(
        { fast: 3, slow: 1, by: { 'node-pop3': 1, multipop: 2, raw: 2, 'fetchmail-sink': 2 } },
        { fast: 1, slow: 1 },
      ),
      // fetchmail → LDA took 18.8 s here on a quiet machine; getmail6 14–120 s (or hangs).
      // node-pop3 stalls on this mailbox (issue #7): its time box is short.
      timeoutMs: { fast: 60_000, slow: 60_000, by: { 'fetchmail-mda': 120_000, 'node-pop3': 20_000 } },
    },
    {
      id: 'S2',
      title: 'one very large message',
      mailboxes: 1,
      messages: 1,
      size: { bytes: q(100, 5) * 1024 * 1024 },
      keep: false,
      contenders: SINGLE,
      // node-pop3 grows its buffer by copying it for every chunk (quadratic): one try.
      reps: q({ fast: 3, slow: 2, by: { 'node-pop3': 1, getmail6: 1 } }, { fast: 1, slow: 1 }),
      timeoutMs: { fast: 30_000, slow: 30_000, by: { 'node-pop3': 15_000 } },
    },
    {
      id: 'S3',
      title: 'incremental run, mail left on the server',
      mailboxes: 1,
      messages: 10,
      size: 'mixed',
      keep: true,
      backlog: { messages: q(20_000, 500), size: 'small' },
      // The single-mailbox command keeps its state elsewhere; priming it too would cost a minute.
      contenders: ['multipop-cli', 'raw', 'fetchmail-mda', 'fetchmail-sink'],
      // Every contender runs every repetition: each one adds 10 new messages for all.
      reps: q({ fast: 3, slow: 3 }, { fast: 1, slow: 1 }),
      timeoutMs: { fast: 30_000, slow: 30_000, prime: 120_000 },
    },
    {
      id: 'S4',
      title: `through a link with 20 ms each way`,
      mailboxes: 1,
      messages: q(100, 20),
      size: 'mixed',
      keep: false,
      latencyMs: 20,
      contenders: SINGLE_SHORT,
      // Everything that waits for each answer is slow here, not only the usual suspects.
      reps: q({ fast: 3, slow: 1, by: { 'fetchmail-sink': 1, 'node-pop3': 1 } }, { fast: 1, slow: 1 }),
      timeoutMs: { fast: 60_000, slow: 60_000 },
    },
    {
      id: 'S5',
      title: 'many mailboxes in one run',
      mailboxes: q(100, 10),
      messages: q(20, 5),
      size: 'mixed',
      keep: false,
      contenders: MULTI,
      // 100 process start-ups per run make the per-mailbox multipop runs long: one of them.
      reps: q({ fast: 3, slow: 1, by: { 'multipop-par': 1, 'fetchmail-sink': 2 } }, { fast: 1, slow: 1 }),
      timeoutMs: { fast: 90_000, slow: 90_000 },
    },
    {
      id: 'S6',
      title: 'a thousand mailboxes in one process',
      mailboxes: q(1_000, 40),
      growthFrom: q(100, 10),
      messages: 5,
      size: 'small',
      keep: false,
      contenders: ['multipop-cli', 'raw-durable', 'raw'],
      reps: { fast: 1, slow: 1 },
      timeoutMs: { fast: 120_000, slow: 120_000 },
    },
  ];
}
