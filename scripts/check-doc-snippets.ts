/**
 * Type-checks every ```ts code block of README.md and docs/*.md against the library's source,
 * and then runs them and the ```sh blocks, so the documentation cannot drift from the API
 * unnoticed: a doc that type-checks but fails as written fails the check too.
 *
 * Each block becomes its own module under `.tmp/doc-snippets/` (gitignored): `import … from
 * 'multipop'` resolves to `src/` through the project's tsconfig `paths`, and top-level `await`
 * works. Free names a block uses without defining them — the host's own things, like `myMta` —
 * come from two places:
 *
 * - `scripts/doc-snippets/prelude.d.ts`: ambient declarations every block sees (`myMta`,
 *   `pino`, …). A block's own `const` shadows them.
 * - A hidden comment right before the fence, for what only that block needs:
 *
 *   ```md
 *   <!-- @doc-context
 *   declare const oauth: OAuthService;
 *   -->
 *   ```
 *
 * - The package's own exports: a block that uses `MultiPopFetcher` or `memoryLedger` without
 *   importing them gets the import added (from `multipop`, else `multipop/sqlite`, else
 *   `multipop/pop3`, else `multipop/postgres`, else `multipop/ports`, else `multipop/testing`, else `multipop/testing/vitest`), as a reader would. A block's own imports are used as written.
 *
 * `<!-- @doc-skip -->` right before a fence leaves that block out (for deliberately partial
 * fragments); use it sparingly — a skipped block is a block nobody checks.
 *
 * The TSDoc `@example`s of the public API (every export of an entry point, and the members of
 * an exported class or interface) are checked the same way: the ```ts fences of an `@example`,
 * or the whole example when it has no fence. A `<!-- doc-context … -->` comment right before the
 * fence gives an example its context (without the `@`, which TypeDoc would read as a tag); TypeDoc
 * renders it as an HTML comment, i.e. not at all. Examples are type-checked, not run.
 *
 * Running (scripts/doc-snippets/): each Markdown block in its own process and a fresh temporary
 * directory, two at a time. The prelude's names are real objects there — a fetcher over memory
 * ports, a memory MTA, a silent `pino()` — and the POP3 hosts the docs name (pop.gmx.net,
 * pop.example.com) are one fake POP3 server with a certificate every process trusts; a
 * connection to anywhere else off the machine fails the block. The docs' absolute paths
 * (`/var/lib/multipop/…`, `/etc/multipop/store.key`, …) land in the temporary directory, and
 * `/etc/multipop/store.key` holds a key as `multipop keygen` writes it. Names only a block's
 * `@doc-context` declares are inert stand-ins. A shell block runs in bash with `set -e`:
 * `npx multipop` is this checkout's command (over the same network, with a `multipop.json` for a
 * Maildir queue and one mailbox on the fake server); `npm`, `apt-get` and `sudo` refuse. A block
 * that cannot run here — it needs a real provider, the host's own infrastructure, root, minutes —
 * says so and why, right before the fence; the check lists it with the reason, and a marker
 * without one is a problem:
 *
 *   ```md
 *   <!-- @doc-no-run: needs a registered Gmail OAuth app -->
 *   ```
 *
 * A block's `collectNow()` calls are watched too: a mailbox that fails fails the block, unless the
 * block announces the failure it shows, `<!-- @doc-expect-errors: AUTH_FAILED -->` (and then it
 * must happen).
 *
 *   npm run check:docs                                  # all docs and all examples
 *   npm run check:docs -- docs/oauth.md src/pop3/limits.ts   # some files
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { type RunnableBlock, type RunReport, runBlocks } from './doc-snippets/run-docs.js';
import { DOC_ROOTS } from './doc-snippets/world.js';

/** One ```ts block found in a Markdown file. */
export interface DocSnippet {
  /** The Markdown file, relative to the project root. */
  file: string;
  /** 1-based line of the block's first code line in the Markdown file. */
  line: number;
  code: string;
  /** Declarations from a `<!-- @doc-context … -->` comment before the fence. */
  context: string;
  skipped: boolean;
  /**
   * Why the block is type-checked but not run (`<!-- @doc-no-run: reason -->`): it needs a real
   * provider or the host's infrastructure. Empty when the marker gives no reason (a problem).
   */
  noRun?: string;
  /**
   * Error codes the block's collections are meant to end with (`<!-- @doc-expect-errors: AUTH_FAILED -->`):
   * a run fails on any other failed mailbox, and when one of these does not happen.
   */
  expectErrors?: string[];
}

/** A type error, mapped back to the Markdown file and line. */
export interface SnippetProblem {
  file: string;
  line: number;
  message: string;
}

/** What {@link checkDocSnippets} found. */
export interface SnippetReport {
  checked: number;
  skipped: number;
  problems: SnippetProblem[];
  /** The Markdown blocks to run (ts and shell), for {@link checkAndRunDocs}. */
  blocks: RunnableBlock[];
}

/** What {@link checkAndRunDocs} found: the type check's report and the runs'. */
export interface DocsReport extends SnippetReport {
  ran: number;
  notRun: RunReport['notRun'];
}

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = join(root, '.tmp', 'doc-snippets');
const prelude = join(root, 'scripts', 'doc-snippets', 'prelude.d.ts');

/** README.md and every docs/*.md (not generated API docs). */
export function defaultDocFiles(): string[] {
  const docs = readdirSync(join(root, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .sort()
    .map((name) => `docs/${name}`);
  return ['README.md', ...docs];
}

const FENCE = /^(\s*)(`{3,}|~{3,})\s*([\w-]*)(.*)$/;
const CONTEXT_OPEN = /^\s*<!--\s*@?doc-context\b(.*)$/;
const SKIP = /^\s*<!--\s*@doc-skip\s*-->\s*$/;
const NO_RUN = /^\s*<!--\s*@doc-no-run\b:?(.*?)-->\s*$/;
const EXPECT_ERRORS = /^\s*<!--\s*@doc-expect-errors\b:?(.*?)-->\s*$/;
const SHELL = new Set(['sh', 'bash', 'shell']);
/** Code the check can neither type-check nor run: such a block must say why it is left alone. */
const UNCHECKED_CODE = new Set(['js', 'javascript', 'mjs', 'cjs']);

/** A `@doc-context` or `@doc-skip` marker that no fence follows (a mistake: it does nothing). */
export interface OrphanMarker {
  file: string;
  /** 1-based line of the marker. */
  line: number;
}

/** Extracts the ```ts / ```typescript blocks of one Markdown text. */
export function extractSnippets(file: string, markdown: string): DocSnippet[] {
  return scanMarkdown(file, markdown).snippets;
}

/** The ts blocks of one Markdown text, and the markers that belong to no block. */
export function scanMarkdown(
  file: string,
  markdown: string,
): { snippets: DocSnippet[]; shell: DocSnippet[]; unchecked: DocSnippet[]; orphans: OrphanMarker[] } {
  const lines = markdown.split(/\r?\n/);
  const snippets: DocSnippet[] = [];
  const shell: DocSnippet[] = [];
  const unchecked: DocSnippet[] = [];
  let pendingNoRun: string | undefined;
  let pendingErrors: string[] | undefined;
  const orphans: OrphanMarker[] = [];
  let pendingContext = '';
  let pendingSkip = false;
  let markerLine = 0;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const open = CONTEXT_OPEN.exec(line);
    if (open) {
      if (!pendingContext && !pendingSkip) markerLine = i + 1;
      const body: string[] = [];
      let rest = open[1] ?? '';
      while (!rest.includes('-->') && i + 1 < lines.length) {
        body.push(rest);
        rest = lines[++i]!;
      }
      body.push(rest.slice(0, rest.indexOf('-->')));
      pendingContext += `${body.join('\n')}\n`;
      continue;
    }
    if (SKIP.test(line)) {
      if (!pendingContext && !pendingSkip) markerLine = i + 1;
      pendingSkip = true;
      continue;
    }
    const errors = EXPECT_ERRORS.exec(line);
    if (errors) {
      if (!pendingContext && !pendingSkip && pendingNoRun === undefined && !pendingErrors) markerLine = i + 1;
      pendingErrors = (errors[1] ?? '').split(/[\s,]+/).filter(Boolean);
      continue;
    }
    const noRun = NO_RUN.exec(line);
    if (noRun) {
      if (!pendingContext && !pendingSkip && pendingNoRun === undefined) markerLine = i + 1;
      pendingNoRun = (noRun[1] ?? '').trim();
      continue;
    }
    const fence = FENCE.exec(line);
    if (!fence) {
      // Context and skip markers belong to the very next fence; blank lines may sit between.
      if (line.trim() !== '') {
        if (pendingContext || pendingSkip || pendingNoRun !== undefined || pendingErrors)
          orphans.push({ file, line: markerLine });
        pendingContext = '';
        pendingSkip = false;
        pendingNoRun = undefined;
        pendingErrors = undefined;
      }
      continue;
    }
    const [, indent = '', marker = '', language = ''] = fence;
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length; j++) {
      const close = lines[j]!;
      if (close.trim().startsWith(marker) && close.trim().replace(/[`~]/g, '') === '') break;
      body.push(close.startsWith(indent) ? close.slice(indent.length) : close.trimStart());
    }
    const found: DocSnippet = {
      file,
      line: i + 2,
      code: body.join('\n'),
      context: pendingContext,
      skipped: pendingSkip,
      ...(pendingNoRun === undefined ? {} : { noRun: pendingNoRun }),
      ...(pendingErrors ? { expectErrors: pendingErrors } : {}),
    };
    if (language === 'ts' || language === 'typescript') snippets.push(found);
    else if (SHELL.has(language)) shell.push(found);
    else if (UNCHECKED_CODE.has(language)) unchecked.push(found);
    else if (pendingContext || pendingSkip || pendingNoRun !== undefined) orphans.push({ file, line: markerLine });
    pendingContext = '';
    pendingSkip = false;
    pendingNoRun = undefined;
    pendingErrors = undefined;
    i = j;
  }
  if (pendingContext || pendingSkip || pendingNoRun !== undefined || pendingErrors)
    orphans.push({ file, line: markerLine });
  return { snippets, shell, unchecked, orphans };
}

/** Every .ts file under src/ (the TSDoc `@example`s of the public API live there). */
export function defaultSourceFiles(): string[] {
  const files: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) files.push(path);
    }
  };
  walk('src');
  return files.sort();
}

const COMMENT_LINE = /^\s*\*(?: ?)(.*)$/;
const TAG = /^@(\w+)/;

/**
 * The TSDoc `@example` blocks of one source file: the ```ts fences inside an `@example`, or the
 * whole example when it has no fence (TSDoc reads an unfenced example as code).
 */
export function scanSourceExamples(file: string, source: string): DocSnippet[] {
  const lines = source.split(/\r?\n/);
  const snippets: DocSnippet[] = [];
  let inComment = false;
  let example: Array<{ line: number; text: string }> | undefined;
  const finish = (): void => {
    if (!example) return;
    const fenced = scanMarkdown(file, example.map((l) => l.text).join('\n')).snippets;
    const hasFence = example.some((l) => FENCE.test(l.text));
    if (hasFence) {
      for (const s of fenced) snippets.push({ ...s, line: example[s.line - 1]!.line });
    } else {
      const body = example.filter((l) => l.text.trim() !== '');
      if (body.length > 0)
        snippets.push({
          file,
          line: body[0]!.line,
          code: example.map((l) => l.text).join('\n').trim(),
          context: '',
          skipped: false,
        });
    }
    example = undefined;
  };
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i]!;
    if (!inComment) {
      const start = line.indexOf('/**');
      if (start < 0) continue;
      inComment = true;
      line = line.slice(start + 3);
    }
    const end = line.indexOf('*/');
    const content = end >= 0 ? line.slice(0, end) : line;
    const text = COMMENT_LINE.exec(content)?.[1] ?? content.trim();
    const tag = TAG.exec(text.trim());
    if (tag) {
      finish();
      if (tag[1] === 'example') {
        example = [];
        const rest = text.trim().slice('@example'.length).trim();
        if (rest !== '') example.push({ line: i + 1, text: rest });
      }
    } else if (example) {
      example.push({ line: i + 1, text });
    }
    if (end >= 0) {
      finish();
      inComment = false;
    }
  }
  return snippets;
}

/** An export of one of the package's entry points, for the auto-import. */
interface PackageExport {
  module: string;
  isValue: boolean;
}

/** The package's entry points (package.json `exports`, which a test compares) and their sources. */
export const ENTRY_POINTS: ReadonlyArray<[module: string, path: string]> = [
  ['multipop', 'src/index.ts'],
  ['multipop/sqlite', 'src/sqlite/index.ts'],
  ['multipop/pop3', 'src/pop3/index.ts'],
  ['multipop/postgres', 'src/postgres/index.ts'],
  ['multipop/bullmq', 'src/bullmq/index.ts'],
  ['multipop/ports', 'src/ports/index.ts'],
  ['multipop/testing', 'src/testing/index.ts'],
  ['multipop/testing/vitest', 'src/testing/vitest.ts'],
];

/** Every name the package exports, with the entry point a reader would import it from. */
function packageExports(program: ts.Program): Map<string, PackageExport> {
  const checker = program.getTypeChecker();
  const names = new Map<string, PackageExport>();
  for (const [module, path] of ENTRY_POINTS) {
    const source = program.getSourceFile(join(root, path));
    const symbol = source && checker.getSymbolAtLocation(source);
    if (!symbol) throw new Error(`cannot read the exports of ${path}`);
    for (const exported of checker.getExportsOfModule(symbol)) {
      if (names.has(exported.name)) continue;
      const target = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
      names.set(exported.name, { module, isValue: (target.flags & ts.SymbolFlags.Value) !== 0 });
    }
  }
  return names;
}

/**
 * The line ranges (1-based, inclusive, per source file relative to the root) of the public
 * declarations — every export of an entry point, with its TSDoc and, for a class or an
 * interface, its members — so that only the public API's `@example`s are checked.
 */
function publicRanges(program: ts.Program): Map<string, Array<[from: number, to: number]>> {
  const checker = program.getTypeChecker();
  const ranges = new Map<string, Array<[number, number]>>();
  for (const [, path] of ENTRY_POINTS) {
    const symbol = checker.getSymbolAtLocation(program.getSourceFile(join(root, path))!)!;
    for (const exported of checker.getExportsOfModule(symbol)) {
      const target = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
      for (const declaration of target.declarations ?? []) {
        const node = ts.isVariableDeclaration(declaration) ? declaration.parent.parent : declaration;
        const source = node.getSourceFile();
        const file = relative(root, source.fileName);
        const from = source.getLineAndCharacterOfPosition(node.getFullStart()).line + 1;
        const to = source.getLineAndCharacterOfPosition(node.getEnd()).line + 1;
        ranges.set(file, [...(ranges.get(file) ?? []), [from, to]]);
      }
    }
  }
  return ranges;
}

/**
 * Node's own functions a block may use without importing them, as a reader would add the import
 * (the package's exports come first: none of these is one).
 */
const NODE_BUILTINS: Readonly<Record<string, string>> = {
  readFile: 'node:fs/promises',
  writeFile: 'node:fs/promises',
  mkdtemp: 'node:fs/promises',
  rm: 'node:fs/promises',
  createWriteStream: 'node:fs',
  pipeline: 'node:stream/promises',
  randomUUID: 'node:crypto',
  randomBytes: 'node:crypto',
  tmpdir: 'node:os',
  join: 'node:path',
};

/** The names a block uses but neither imports nor declares, which the package exports. */
function missingImports(code: string, exports: Map<string, PackageExport>): string[] {
  const { used, bound } = names(code);
  return [...used]
    .filter((name) => (exports.has(name) || Object.hasOwn(NODE_BUILTINS, name)) && !bound.has(name))
    .sort();
}

/** The identifiers a block uses, and those it declares (binds) itself. */
function names(code: string): { used: Set<string>; bound: Set<string> } {
  const source = ts.createSourceFile('snippet.ts', code, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const used = new Set<string>();
  const bound = new Set<string>();
  const visit = (node: ts.Node): void => {
    if (ts.isIdentifier(node)) used.add(node.text);
    const name = (node as { name?: ts.Node }).name;
    if (
      name &&
      ts.isIdentifier(name) &&
      !ts.isPropertyAccessExpression(node) &&
      !ts.isPropertyAssignment(node)
    )
      bound.add(name.text);
    node.forEachChild(visit);
  };
  visit(source);
  return { used, bound };
}

/** The value names a `@doc-context` declares (`declare const a, { b }: …`, functions, classes). */
function declaredNames(context: string): string[] {
  const source = ts.createSourceFile('context.ts', context, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const found: string[] = [];
  const bind = (name: ts.BindingName): void => {
    if (ts.isIdentifier(name)) found.push(name.text);
    else for (const element of name.elements) if (!ts.isOmittedExpression(element)) bind(element.name);
  };
  for (const statement of source.statements) {
    if (ts.isVariableStatement(statement)) for (const d of statement.declarationList.declarations) bind(d.name);
    else if ((ts.isFunctionDeclaration(statement) || ts.isClassDeclaration(statement)) && statement.name)
      found.push(statement.name.text);
  }
  return found;
}

/** The docs' absolute paths (`'/var/lib/multipop/…'`) made relative to the run's directory. */
function inRunDirectory(code: string): string {
  let out = code;
  for (const path of DOC_ROOTS) out = out.replace(new RegExp(`(['"\`])${path}(?=[/'"\`])`, 'g'), `$1.${path}`);
  return out;
}

/** `import` lines for the given package exports, grouped by entry point. */
function importLines(names: readonly string[], exports: Map<string, PackageExport>): string[] {
  const byModule = new Map<string, string[]>();
  for (const name of names) {
    const { module, isValue } = exports.get(name) ?? { module: NODE_BUILTINS[name]!, isValue: true };
    byModule.set(module, [...(byModule.get(module) ?? []), isValue ? name : `type ${name}`]);
  }
  return [...byModule].map(([module, list]) => `import { ${list.join(', ')} } from '${module}';`);
}

/** The module a snippet becomes; the code starts at line `header + 1`. */
function snippetModule(
  snippet: DocSnippet,
  exports: Map<string, PackageExport>,
): { text: string; header: number } {
  const head = [`// ${snippet.file}:${snippet.line} (generated by scripts/check-doc-snippets.ts)`];
  head.push(...importLines(missingImports(`${snippet.context}\n${snippet.code}`, exports), exports));
  if (snippet.context.trim() !== '') head.push(...snippet.context.trimEnd().split('\n'));
  // `export {}` makes even an import-less block a module (own scope, top-level await).
  return { text: `${head.join('\n')}\n${snippet.code}\nexport {};\n`, header: head.length };
}

/**
 * Writes every block of `files` (default: {@link defaultDocFiles}) to `.tmp/doc-snippets/` and
 * type-checks them with the project's compiler options.
 *
 * @example
 * ```ts
 * const { problems } = checkDocSnippets(['docs/integrating.md']);
 * ```
 */
export function checkDocSnippets(files?: readonly string[], sources?: readonly string[]): SnippetReport {
  // Nothing named: every doc and every source file. Some docs named: only what was named.
  const docFiles = files ?? defaultDocFiles();
  const sourceFiles = sources ?? (files === undefined ? defaultSourceFiles() : []);
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const scans = docFiles.map((file) => scanMarkdown(file, readFileSync(join(root, file), 'utf8')));
  const snippets = scans.flatMap((scan) => scan.snippets);

  const config = ts.getParsedCommandLineOfConfigFile(
    join(root, 'tsconfig.json'),
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) => {
        throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
      },
    },
  );
  if (!config) throw new Error('could not read tsconfig.json');
  const options = { ...config.options, noEmit: true };
  // A first program over the entry points only, to learn their exports; the second one
  // reuses its parsed files.
  const entries = ts.createProgram({ rootNames: ENTRY_POINTS.map(([, path]) => join(root, path)), options });
  const exports = packageExports(entries);
  const ranges = publicRanges(entries);
  for (const file of sourceFiles) {
    const inPublicApi = (line: number) => (ranges.get(file) ?? []).some(([from, to]) => from <= line && line <= to);
    const examples = scanSourceExamples(file, readFileSync(join(root, file), 'utf8'));
    snippets.push(...examples.filter((example) => inPublicApi(example.line)));
  }

  const byPath = new Map<string, { snippet: DocSnippet; header: number }>();
  const blocks: RunnableBlock[] = [];
  snippets.forEach((snippet, n) => {
    if (snippet.skipped) return;
    const name = `${snippet.file.replace(/[^A-Za-z0-9]+/g, '_')}_L${snippet.line}_${n}.ts`;
    const path = join(outDir, name);
    const { text, header } = snippetModule(snippet, exports);
    writeFileSync(path, text);
    byPath.set(path, { snippet, header });
    // Markdown blocks run too; a TSDoc example only type-checks (it shows one call, not a program).
    if (snippet.file.endsWith('.md')) {
      blocks.push({
        file: snippet.file,
        line: snippet.line,
        kind: 'ts',
        // The type-checked module itself: `declare`s vanish when it runs, imports stay.
        text: inRunDirectory(text),
        ...(snippet.noRun === undefined ? {} : { noRun: snippet.noRun }),
        expectErrors: snippet.expectErrors ?? [],
        uses: [...names(snippet.code).used],
        standIns: declaredNames(snippet.context),
      });
    }
  });
  for (const block of scans.flatMap((scan) => scan.shell)) {
    if (block.skipped) continue;
    blocks.push({
      file: block.file,
      line: block.line,
      kind: 'sh',
      text: `${block.code}\n`,
      ...(block.noRun === undefined ? {} : { noRun: block.noRun }),
      expectErrors: [],
      uses: [],
      standIns: [],
    });
  }
  const program = ts.createProgram({ rootNames: [prelude, ...byPath.keys()], options, oldProgram: entries });
  const problems: SnippetProblem[] = scans.flatMap((scan) =>
    scan.orphans.map((o) => ({
      file: o.file,
      line: o.line,
      message: 'a @doc-context, @doc-skip or @doc-no-run marker must come right before a ```ts (or ```sh) fence',
    })),
  );
  for (const block of scans.flatMap((scan) => scan.unchecked)) {
    // Listed with its reason (a marker without one is reported by the run), never run.
    if (block.noRun !== undefined)
      blocks.push({ file: block.file, line: block.line, kind: 'sh', text: '', noRun: block.noRun, expectErrors: [], uses: [], standIns: [] });
    else
      problems.push({
        file: block.file,
        line: block.line,
        message: 'a JavaScript block is neither type-checked nor run: make it ```ts, or say why with <!-- @doc-no-run: … -->',
      });
  }
  // Only the snippets' own diagnostics (and the prelude's): the source is type-checked by
  // `npm run typecheck`, and checking just these files is several times faster.
  const checkedFiles = [prelude, ...byPath.keys()].map((path) => program.getSourceFile(path)!);
  const diagnostics = [
    ...program.getOptionsDiagnostics(),
    ...program.getGlobalDiagnostics(),
    ...checkedFiles.flatMap((file) => [
      ...program.getSyntacticDiagnostics(file),
      ...program.getSemanticDiagnostics(file),
    ]),
  ];
  for (const diagnostic of diagnostics) {
    const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n');
    const source = diagnostic.file;
    const origin = source ? byPath.get(resolve(source.fileName)) : undefined;
    if (!source || diagnostic.start === undefined) {
      problems.push({ file: '(project)', line: 0, message: `TS${diagnostic.code}: ${message}` });
      continue;
    }
    const { line } = source.getLineAndCharacterOfPosition(diagnostic.start);
    if (origin) {
      const inCode = line - origin.header;
      problems.push({
        file: origin.snippet.file,
        // A problem in the context comment is reported at the fence.
        line: inCode >= 0 ? origin.snippet.line + inCode : origin.snippet.line - 1,
        message: `TS${diagnostic.code}: ${message}`,
      });
    } else {
      problems.push({
        file: relative(root, source.fileName),
        line: line + 1,
        message: `TS${diagnostic.code}: ${message}`,
      });
    }
  }
  return {
    checked: byPath.size,
    skipped: snippets.length - byPath.size,
    problems: sortProblems(problems),
    blocks,
  };
}

const sortProblems = <T extends SnippetProblem>(problems: T[]): T[] =>
  problems.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line);

/**
 * {@link checkDocSnippets}, then runs every Markdown block that type-checked and is not marked
 * `@doc-no-run` (scripts/doc-snippets/run-docs.ts): TypeScript blocks against the fake POP3
 * server and temporary directories, shell blocks with this checkout's `multipop` command.
 */
export async function checkAndRunDocs(files?: readonly string[], sources?: readonly string[]): Promise<DocsReport> {
  const report = checkDocSnippets(files, sources);
  const runs = await runBlocks(report.blocks, outDir);
  return {
    ...report,
    ran: runs.ran,
    notRun: runs.notRun,
    problems: sortProblems([...report.problems, ...runs.problems]),
  };
}

/** Formats a report as `file:line: message` lines and a summary. */
export function formatReport(report: SnippetReport | DocsReport): string {
  const lines = report.problems.map((p) => `${p.file}:${p.line}: ${p.message.replace(/\n/g, '\n    ')}`);
  if ('ran' in report) {
    for (const n of report.notRun) lines.push(`${n.file}:${n.line}: not run — ${n.reason}`);
    lines.push(
      `${report.checked} snippet(s) type-checked, ${report.skipped} skipped; ${report.ran} block(s) ran, ${report.notRun.length} not run (reasons above); ${report.problems.length} problem(s)`,
    );
  } else {
    lines.push(
      `${report.checked} snippet(s) checked, ${report.skipped} skipped, ${report.problems.length} problem(s)`,
    );
  }
  return lines.join('\n');
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const named = process.argv.slice(2);
  const report =
    named.length > 0
      ? await checkAndRunDocs(
          named.filter((file) => !file.endsWith('.ts')),
          named.filter((file) => file.endsWith('.ts')),
        )
      : await checkAndRunDocs();
  const out = formatReport(report);
  if (report.problems.length > 0) {
    process.stderr.write(`${out}\n`);
    process.exitCode = 1;
  } else {
    process.stdout.write(`${out}\n`);
  }
}
