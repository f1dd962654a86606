/**
 * Loaded (`node --import`) into the `multipop` command a shell block of the docs starts, so that
 * it sees the same network as the snippets: the docs' POP3 hosts on the fake server, nothing
 * beyond this machine (see network.ts). A refused connection fails the command.
 */
import { installDocNetwork, refusedConnections } from './network.js';

installDocNetwork(Number(process.env.DOC_POP3_PORT));
process.on('exit', () => {
  if (refusedConnections.length === 0) return;
  process.stderr.write(`doc check: refused connections to ${refusedConnections.join(', ')}\n`);
  process.exitCode = 1;
});
