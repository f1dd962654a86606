/**
 * Preloaded into a collector process (`NODE_OPTIONS=--import <this file>`) by the crash suite:
 * SIGKILLs the process at an exact point of the batched path, the Nth time it is reached, so
 * the suite can aim at the windows inside a batch instead of hoping a timer lands in them.
 *
 *   MULTIPOP_KILL_AT=file:N   after the Nth message file in tmp/ is synced (before its rename
 *                             and the sync of new/: "between the file syncs and the directory sync")
 *   MULTIPOP_KILL_AT=new:N    after the Nth sync of new/ (the queue holds the batch durably, the
 *                             ledger does not yet: "between queue and ledger")
 *   MULTIPOP_KILL_AT=wal:N    after the Nth sync of the SQLite WAL (the ledger holds the batch,
 *                             no DELE sent yet: "between ledger and DELE")
 *   MULTIPOP_KILL_AT=dele:N   as the Nth DELE is written to the socket
 *
 * Nothing in multipop knows about this file: it wraps Node's own `fs.promises.open`,
 * `FileHandle#sync` and `net.Socket#write`, the calls the shipped stores and client make.
 * Plain JavaScript, so it loads into the bundled command without a TypeScript loader.
 */
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import net from 'node:net';
import tls from 'node:tls';

const [kind, nth] = (process.env.MULTIPOP_KILL_AT ?? '').split(':');
const target = Number(nth);

if (kind && target > 0) {
  let count = 0;
  const reached = (what) => {
    if (what === kind && ++count === target) process.kill(process.pid, 'SIGKILL');
  };
  const classify = (path) => {
    const p = String(path);
    if (p.endsWith('-wal')) return 'wal';
    if (/[/\\]new[/\\]?$/.test(p)) return 'new';
    if (/[/\\]tmp[/\\][^/\\]+$/.test(p)) return 'file';
    return undefined;
  };
  const paths = new WeakMap();
  const originalOpen = fs.promises.open;
  fs.promises.open = async function open(path, ...rest) {
    const handle = await originalOpen.call(this, path, ...rest);
    paths.set(handle, classify(path));
    return handle;
  };
  syncBuiltinESMExports();
  // FileHandle is not exported: take its prototype from a handle.
  const probe = await originalOpen(process.execPath, 'r');
  const proto = Object.getPrototypeOf(probe);
  await probe.close();
  const originalSync = proto.sync;
  proto.sync = async function sync() {
    await originalSync.call(this);
    const what = paths.get(this);
    if (what) reached(what);
  };
  // A TLS socket's own write ends in net.Socket's (TLSSocket instances carry a write of their own).
  const originalWrite = net.Socket.prototype.write;
  net.Socket.prototype.write = function write(chunk, ...rest) {
    if (this instanceof tls.TLSSocket) {
      const text = typeof chunk === 'string' ? chunk : Buffer.isBuffer(chunk) ? chunk.toString('latin1') : '';
      for (const line of text.split('\r\n')) if (line.startsWith('DELE ')) reached('dele');
    }
    return originalWrite.call(this, chunk, ...rest);
  };
}
