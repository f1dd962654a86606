import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A fresh temporary directory for one test. */
export function tempRoot(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'multipop-maildir-'));
}

/** The files in a Maildir's `new/` and `cur/`, with the id the queue gave them (the base name). */
export async function maildirMessages(
  maildir: string,
): Promise<Array<{ id: string; sub: string; name: string; content: Buffer }>> {
  const out: Array<{ id: string; sub: string; name: string; content: Buffer }> = [];
  for (const sub of ['new', 'cur']) {
    let names: string[] = [];
    try {
      names = await readdir(join(maildir, sub));
    } catch {
      continue;
    }
    for (const name of names.sort()) {
      out.push({ id: name.split(/[,:]/)[0]!, sub, name, content: await readFile(join(maildir, sub, name)) });
    }
  }
  return out;
}

/** Every message under a per-recipient queue root (one Maildir per sub-directory). */
export async function allRecipientMessages(root: string): Promise<Array<{ id: string; content: Buffer }>> {
  const out: Array<{ id: string; content: Buffer }> = [];
  for (const entry of await readdir(root, { withFileTypes: true })) {
    if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
    for (const message of await maildirMessages(join(root, entry.name)))
      out.push({ id: message.id, content: message.content });
  }
  return out;
}
