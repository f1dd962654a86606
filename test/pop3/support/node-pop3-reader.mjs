// Runs node-pop3 (the comparison peer of decisions.md D1) in its own process, so that its
// unhandled 'error' events or hangs cannot take the test runner down. Reads every message
// with RETR and prints one JSON line per message: the string node-pop3 returned, encoded back
// to bytes as UTF-8 (what a caller writing it to disk would get), base64.
//
// Usage: node node-pop3-reader.mjs <host> <port> <user> <password> <count>
import Pop3Command from 'node-pop3';

const [host, port, user, password, count] = process.argv.slice(2);
process.on('uncaughtException', (err) => {
  console.log(JSON.stringify({ crash: String(err?.message ?? err) }));
  process.exit(3);
});
process.on('unhandledRejection', (err) => {
  console.log(JSON.stringify({ crash: String(err?.message ?? err) }));
  process.exit(3);
});

const pop3 = new Pop3Command({ user, password, host, port: Number(port), tls: false, timeout: 10_000 });
for (let msg = 1; msg <= Number(count); msg++) {
  try {
    const text = await pop3.RETR(msg);
    console.log(JSON.stringify({ msg, base64: Buffer.from(text, 'utf8').toString('base64') }));
  } catch (err) {
    console.log(JSON.stringify({ msg, error: String(err?.message ?? err) }));
  }
}
await pop3.QUIT().catch(() => {});
process.exit(0);
