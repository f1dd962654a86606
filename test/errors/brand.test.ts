/**
 * A MultiPopError is recognised by any copy of the library in the process (the dual-package
 * hazard: `require('multipop')` beside `import('multipop/testing')` loads the class twice). Here
 * the second copy is the same module loaded again under another URL; test/package/host-projects
 * shows it with the real CommonJS and ESM builds.
 */
import { describe, expect, it } from 'vitest';
import { isMultiPopError, MultiPopError } from '../../src/errors/index.js';

describe('MultiPopError across copies of the library', () => {
  it('instanceof and isMultiPopError accept an error made by another copy of the class', async () => {
    const other = (await import(
      /* @vite-ignore */ `${new URL('../../src/errors/multipop-error.ts', import.meta.url).href}?copy=2`
    )) as typeof import('../../src/errors/multipop-error.js');
    expect(other.MultiPopError).not.toBe(MultiPopError);
    const foreign = new other.MultiPopError('IN_USE', 'locked', { mailboxId: 'm1' });
    expect(foreign instanceof MultiPopError).toBe(true);
    expect(isMultiPopError(foreign, 'IN_USE')).toBe(true);
    expect(isMultiPopError(foreign, 'AUTH_FAILED')).toBe(false);
    expect(other.isMultiPopError(new MultiPopError('AUTH_FAILED', 'no'))).toBe(true);
  });

  it('does not accept look-alikes', () => {
    const lookalike = Object.assign(new Error('x'), { name: 'MultiPopError', code: 'IN_USE' });
    expect(isMultiPopError(lookalike)).toBe(false);
    expect(lookalike instanceof MultiPopError).toBe(false);
    expect(isMultiPopError(null)).toBe(false);
    expect(isMultiPopError('IN_USE')).toBe(false);
  });
});
