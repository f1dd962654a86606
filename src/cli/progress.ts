import type { CollectorEvents } from '../collect/events.js';
import type { MultiPopFetcher } from '../fetcher/index.js';

/** Where progress goes: a TTY gets a redrawn bar per mailbox, anything else plain lines. */
export interface ProgressOutput {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

interface MailboxProgress {
  label: string;
  toFetch: number;
  bytesToFetch: number;
  done: number;
  bytesDone: number;
  currentBytes: number;
}

const BAR_WIDTH = 24;

/** Human-readable byte counts (1 decimal). */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

/**
 * Shows collection progress per mailbox: messages and bytes, as a bar on a TTY (redrawn in
 * place, at most every 100 ms) and as plain lines otherwise (one per mailbox start and end, and
 * every 10 % of a long mailbox). Returns a function that detaches it.
 */
export function attachProgress(fetcher: MultiPopFetcher, out: ProgressOutput): () => void {
  const tty = out.isTTY === true;
  const state = new Map<string, MailboxProgress>();
  let lastDraw = 0;
  let lastTenth = new Map<string, number>();

  const render = (p: MailboxProgress) => {
    const total = Math.max(p.bytesToFetch, 1);
    const fraction = Math.min(1, (p.bytesDone + p.currentBytes) / total);
    const filled = Math.round(fraction * BAR_WIDTH);
    const bar = `${'█'.repeat(filled)}${'░'.repeat(BAR_WIDTH - filled)}`;
    return `${p.label} ${bar} ${p.done}/${p.toFetch} messages, ${formatBytes(p.bytesDone + p.currentBytes)}/${formatBytes(p.bytesToFetch)}`;
  };
  const draw = (p: MailboxProgress, force = false) => {
    const now = Date.now();
    if (tty) {
      if (!force && now - lastDraw < 100) return;
      lastDraw = now;
      out.write(`\r\x1b[2K${render(p).slice(0, (out.columns ?? 120) - 1)}`);
      return;
    }
    const tenth = p.toFetch === 0 ? 10 : Math.floor((p.done / p.toFetch) * 10);
    if (force || tenth > (lastTenth.get(p.label) ?? 0)) {
      lastTenth.set(p.label, tenth);
      out.write(`${render(p)}\n`);
    }
  };

  const key = (e: { mailboxId: string }) => e.mailboxId;
  const offs = [
    fetcher.on('session:planned', (e: CollectorEvents['session:planned']) => {
      const p: MailboxProgress = {
        label: `${e.userId}/${e.mailboxId}`,
        toFetch: e.toFetch,
        bytesToFetch: e.bytesToFetch,
        done: 0,
        bytesDone: 0,
        currentBytes: 0,
      };
      state.set(key(e), p);
      lastTenth = new Map(lastTenth);
      if (!tty)
        out.write(
          `${p.label}: ${e.onServer} on the server, ${e.toFetch} to collect (${formatBytes(e.bytesToFetch)})\n`,
        );
    }),
    fetcher.on('message:progress', (e) => {
      const p = state.get(key(e));
      if (!p) return;
      p.currentBytes = e.bytes;
      if (tty) draw(p);
    }),
    fetcher.on('message:collected', (e) => {
      const p = state.get(key(e));
      if (!p) return;
      p.done++;
      p.bytesDone += e.size;
      p.currentBytes = 0;
      draw(p);
    }),
    fetcher.on('session:end', (e) => {
      const p = state.get(key(e));
      if (p && tty) {
        draw(p, true);
        out.write('\n');
      } else if (p && p.toFetch > 0 && (lastTenth.get(p.label) ?? 0) < 10) {
        draw(p, true);
      }
      state.delete(key(e));
    }),
    fetcher.on('mailbox:error', (e) => {
      if (tty && state.has(key(e))) out.write('\n');
      state.delete(key(e));
      out.write(`${e.userId}/${e.mailboxId}: ${e.error.code}: ${e.error.message.split('\n')[0]}\n`);
    }),
  ];
  return () => {
    for (const off of offs) off();
  };
}
