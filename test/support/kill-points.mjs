/**
 * Preloaded into a collector process (`NODE_OPTIONS=--import <this file>`) by the crash suite:
 * SIGKILLs the process at an exact point of the batched path, the Nth time it is reached, so
 * the suite can aim at the windows inside a batch instead of hoping a timer lands in them.
 *
 *   MULTIPOP_KILL_AT=file:N   after the Nth message file in tmp/ is synced (before its rename
 *                             and the sync of new/: "between the file syncs and the directory sync")
 *   MULTIPOP_KILL_AT=new:N    after the Nth sync of new/ that covers a rename into it (the queue
 *                             holds the batch durably, the ledger does not yet: "between queue and
 *                             ledger"; the syncs a retry's lookup makes, with no rename, do not count)
 *   MULTIPOP_KILL_AT=wal:N    after the Nth sync of the SQLite WAL while messages are being
 *                             collected (the ledger holds the batch, no DELE sent yet: "between
 *                             ledger and DELE"; the syncs before the first RETR and after QUIT —
 *                             the session's opening records, its status, forgetting the deleted
 *                             UIDLs — do not count)
 *   MULTIPOP_KILL_AT=dele:N   as the Nth DELE of a batch is written to the socket (DELEs written
 *                             before the first RETR — deletions re-issued from the ledger at the
 *                             start of a session — do not count)
 *
 * With MULTIPOP_KILL_REPORT=<file>, the moment of the kill is written there first (JSON: the
 * point, N, and how many DELE commands had gone out before it), so the suite can check from what
 * the kill left behind that it really landed in the window it aimed at.
 *
 * Nothing in multipop knows about this file: it wraps Node's own `fs.promises.open`,
 * `fs.promises.rename`, `FileHandle#sync`, `fs.open`, `fs.openSync`, `fs.closeSync`, `fs.fsync`
 * and `net.Socket#write`, the calls the shipped stores and client make.
 * Plain JavaScript, so it loads into the bundled command without a TypeScript loader.
 */
import fs, { writeFileSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import net from 'node:net';
import tls from 'node:tls';

const [kind, nth] = (process.env.MULTIPOP_KILL_AT ?? '').split(':');
const target = Number(nth);

if (kind && target > 0) {
  let count = 0;
  let delesSent = 0;
  /** What the POP3 client has written so far (see the socket's write below). */
  let retrSent = false;
  let quitSent = false;
  const report = process.env.MULTIPOP_KILL_REPORT;
  const reached = (what) => {
    if (what === 'wal' && (!retrSent || quitSent)) return;
    if (what !== kind || ++count !== target) return;
    if (report) writeFileSync(report, JSON.stringify({ point: kind, nth: target, delesSent }));
    process.kill(process.pid, 'SIGKILL');
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
  /** Whether a message was renamed into new/ since the last sync of new/ began. */
  let renamedIntoNew = false;
  const originalRename = fs.promises.rename;
  fs.promises.rename = async function rename(from, to, ...rest) {
    await originalRename.call(this, from, to, ...rest);
    if (/[/\\]new[/\\][^/\\]+$/.test(String(to))) renamedIntoNew = true;
  };
  // The Maildir queue also works with descriptors: opened in the thread pool (files) or
  // synchronously (directories), synced in the thread pool, closed synchronously
  // (src/stores/maildir/durable-fs.ts).
  const descriptors = new Map();
  const originalOpenCallback = fs.open;
  fs.open = function open(path, ...rest) {
    const callback = rest.pop(); // fs.open(path[, flags[, mode]], callback)
    return originalOpenCallback.call(this, path, ...rest, (err, fd) => {
      if (!err) descriptors.set(fd, classify(path));
      callback(err, fd);
    });
  };
  const originalOpenSync = fs.openSync;
  fs.openSync = function openSync(path, ...rest) {
    const fd = originalOpenSync.call(this, path, ...rest);
    descriptors.set(fd, classify(path));
    return fd;
  };
  const originalCloseSync = fs.closeSync;
  fs.closeSync = function closeSync(fd, ...rest) {
    descriptors.delete(fd);
    return originalCloseSync.call(this, fd, ...rest);
  };
  const originalFsync = fs.fsync;
  fs.fsync = function fsync(fd, callback) {
    const what = descriptors.get(fd);
    const coversRename = renamedIntoNew;
    if (what === 'new') renamedIntoNew = false;
    return originalFsync.call(this, fd, (err) => {
      if (!err && what && (what !== 'new' || coversRename)) reached(what);
      callback(err);
    });
  };
  syncBuiltinESMExports();
  // FileHandle is not exported: take its prototype from a handle.
  const probe = await originalOpen(process.execPath, 'r');
  const proto = Object.getPrototypeOf(probe);
  await probe.close();
  const originalSync = proto.sync;
  proto.sync = async function sync() {
    const what = paths.get(this);
    const coversRename = renamedIntoNew;
    if (what === 'new') renamedIntoNew = false;
    await originalSync.call(this);
    if (what && (what !== 'new' || coversRename)) reached(what);
  };
  // A TLS socket's own write ends in net.Socket's (TLSSocket instances carry a write of their own).
  const originalWrite = net.Socket.prototype.write;
  net.Socket.prototype.write = function write(chunk, ...rest) {
    if (this instanceof tls.TLSSocket) {
      const text = typeof chunk === 'string' ? chunk : Buffer.isBuffer(chunk) ? chunk.toString('latin1') : '';
      for (const line of text.split('\r\n')) {
        if (line.startsWith('RETR ')) retrSent = true;
        if (line === 'QUIT') quitSent = true;
        if (!line.startsWith('DELE ')) continue;
        if (retrSent) reached('dele');
        delesSent++;
      }
    }
    return originalWrite.call(this, chunk, ...rest);
  };
}
