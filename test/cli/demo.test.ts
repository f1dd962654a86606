import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { projectRoot } from '../support/collector-command.js';

it('npm run demo: collects the embedded mailbox into a Maildir, byte for byte, exactly once', {
  timeout: 120_000,
}, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'multipop-demo-'));
  try {
    const result = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
      const child = spawn(
        'npm',
        [
          'run',
          '--silent',
          'demo',
          '--',
          '--dir',
          join(dir, 'maildir'),
          '--messages',
          '12',
          '--large-mb',
          '3',
        ],
        {
          cwd: projectRoot,
          stdio: ['ignore', 'pipe', 'inherit'],
        },
      );
      let stdout = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        stdout += d;
      });
      child.once('close', (code) => resolve({ code, stdout }));
    });
    expect(result.stdout).toContain('Byte for byte identical to the source: 13/13.');
    expect(result.stdout).toContain('A second run collected 0 (exactly once).');
    expect(result.stdout).toContain('Left on the remote server: 0.');
    expect(result.code).toBe(0);
    expect(await readdir(join(dir, 'maildir', 'new'))).toHaveLength(13);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
