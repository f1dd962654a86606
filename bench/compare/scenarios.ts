/**
 * The five benchmark scenarios of issue #7 and how often each contender runs in them. Slow
 * contenders (fetchmail → LDA, getmail6) run fewer times, and every run is time-boxed, so the
 * whole benchmark fits in 10 minutes on 2 cores. `--quick` shrinks everything for a smoke run.
 */
import type { ContenderId } from './contenders.js';
import type { SizeProfile } from './messages.js';

/** One scenario's shape. */
export interface Scenario {
  id: 'S1' | 'S2' | 'S3' | 'S4' | 'S5';
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
  reps: { fast: number; slow: number };
  timeoutMs: { fast: number; slow: number };
}

const SINGLE: ContenderId[] = ['multipop', 'raw', 'fetchmail-mda', 'fetchmail-sink', 'getmail6', 'node-pop3'];
const MULTI: ContenderId[] = [
  'multipop-seq',
  'multipop-par',
  'raw',
  'fetchmail-mda',
  'fetchmail-sink',
  'getmail6',
  'node-pop3',
];

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
      reps: q({ fast: 5, slow: 1 }, { fast: 1, slow: 1 }),
      timeoutMs: { fast: 60_000, slow: 60_000 },
    },
    {
      id: 'S2',
      title: 'one very large message',
      mailboxes: 1,
      messages: 1,
      size: { bytes: q(100, 5) * 1024 * 1024 },
      keep: false,
      contenders: SINGLE,
      reps: q({ fast: 3, slow: 2 }, { fast: 1, slow: 1 }),
      timeoutMs: { fast: 30_000, slow: 30_000 },
    },
    {
      id: 'S3',
      title: 'incremental run, mail left on the server',
      mailboxes: 1,
      messages: 10,
      size: 'mixed',
      keep: true,
      backlog: { messages: q(20_000, 500), size: 'small' },
      contenders: SINGLE,
      // Every contender runs every repetition: each one adds 10 new messages for all.
      reps: q({ fast: 5, slow: 5 }, { fast: 1, slow: 1 }),
      timeoutMs: { fast: 30_000, slow: 30_000 },
    },
    {
      id: 'S4',
      title: `through a link with 20 ms each way`,
      mailboxes: 1,
      messages: q(100, 20),
      size: 'mixed',
      keep: false,
      latencyMs: 20,
      contenders: SINGLE,
      reps: q({ fast: 3, slow: 1 }, { fast: 1, slow: 1 }),
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
      reps: q({ fast: 3, slow: 1 }, { fast: 1, slow: 1 }),
      timeoutMs: { fast: 90_000, slow: 90_000 },
    },
  ];
}
