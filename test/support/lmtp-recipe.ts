import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from './collector-command.js';

const RECIPE = join(projectRoot, 'examples/lmtp-exactly-once');
const SIEVE_BEFORE = /^(\s*sieve_before\s*=\s*).*$/m;

/**
 * The exactly-once recipe exactly as shipped in examples/lmtp-exactly-once/, in the form
 * `startDovecot({ sieveBefore })` takes: the Sieve script, and the dovecot.conf lines with the
 * script's path put where the recipe says `/etc/dovecot/sieve/…`. So a test of the recipe fails
 * when the shipped files stop working.
 *
 * @example
 * ```ts
 * const dovecot = await startDovecot({ users, sieveBefore: shippedDedupeRecipe() });
 * ```
 */
export function shippedDedupeRecipe(): { script: string; config: (scriptPath: string) => string } {
  const script = readFileSync(join(RECIPE, 'multipop-dedupe.sieve'), 'utf8');
  const conf = readFileSync(join(RECIPE, '90-multipop-dedupe.conf'), 'utf8');
  if (!SIEVE_BEFORE.test(conf)) throw new Error('the recipe has no sieve_before line');
  return {
    script,
    config: (scriptPath) => conf.replace(SIEVE_BEFORE, (_line, key: string) => key + scriptPath),
  };
}

/** How many copies Pigeonhole's `discard` dropped, from Dovecot's log. */
export function discardedCopies(log: string): number {
  return log.split('\n').filter((line) => /sieve: .*discard action/.test(line)).length;
}
