/**
 * The API report: every declaration each entry point of the package exports, as TypeScript
 * declarations (bodies, private members and comments left out), one Markdown file per entry
 * point under `api/`. The files are committed; test/package/api-report.test.ts fails when the
 * source's surface and the report differ, so the surface changes only on purpose and the
 * change shows in review as a diff of `api/`.
 *
 *   npm run api:report            # rewrite api/*.api.md from the source
 *
 * How: one TypeScript program over the entry points emits declarations in memory (no build,
 * no dist/); for each exported name the declaration of the same name is taken from the emitted
 * `.d.ts` of the file that declares it. The same walk checks that each exported declaration
 * has TSDoc and that each exported value (function, class, constant) has an `@example`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = fileURLToPath(new URL('..', import.meta.url));

/** The package's entry points (package.json `exports`), with their source file. */
export const API_ENTRY_POINTS: ReadonlyArray<{ module: string; source: string; report: string }> = [
  { module: 'multipop', source: 'src/index.ts', report: 'api/multipop.api.md' },
  { module: 'multipop/pop3', source: 'src/pop3/index.ts', report: 'api/multipop-pop3.api.md' },
  { module: 'multipop/sqlite', source: 'src/sqlite/index.ts', report: 'api/multipop-sqlite.api.md' },
  { module: 'multipop/postgres', source: 'src/postgres/index.ts', report: 'api/multipop-postgres.api.md' },
  { module: 'multipop/bullmq', source: 'src/bullmq/index.ts', report: 'api/multipop-bullmq.api.md' },
  { module: 'multipop/ports', source: 'src/ports/index.ts', report: 'api/multipop-ports.api.md' },
  { module: 'multipop/testing', source: 'src/testing/index.ts', report: 'api/multipop-testing.api.md' },
  {
    module: 'multipop/testing/vitest',
    source: 'src/testing/vitest.ts',
    report: 'api/multipop-testing-vitest.api.md',
  },
];

/** One entry point's report and what its exports lack in documentation. */
export interface EntryReport {
  module: string;
  report: string;
  text: string;
  /** Exported names without TSDoc, or values without an `@example`. */
  undocumented: string[];
}

function compilerOptions(): ts.CompilerOptions {
  const configPath = join(root, 'tsconfig.json');
  const config = ts.readConfigFile(configPath, ts.sys.readFile);
  const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, root);
  return {
    ...parsed.options,
    noEmit: false,
    declaration: true,
    emitDeclarationOnly: true,
    declarationMap: false,
    sourceMap: false,
    removeComments: true,
    outDir: join(root, '.tmp', 'api-report'),
    rootDir: root,
  };
}

/** The emitted `.d.ts` of every source file, keyed by the source file's path. */
function emitDeclarations(program: ts.Program, outDir: string): Map<string, ts.SourceFile> {
  const emitted = new Map<string, ts.SourceFile>();
  program.emit(undefined, (fileName, text) => {
    if (!fileName.endsWith('.d.ts')) return;
    const source = join(root, relative(outDir, fileName)).replace(/\.d\.ts$/, '.ts');
    emitted.set(source, ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS));
  });
  return emitted;
}

function declaredNames(statement: ts.Statement): string[] {
  if (ts.isVariableStatement(statement))
    return statement.declarationList.declarations.map((d) => (ts.isIdentifier(d.name) ? d.name.text : ''));
  const name = (statement as { name?: ts.Node }).name;
  return name && ts.isIdentifier(name) ? [name.text] : [];
}

const printer = ts.createPrinter({ removeComments: true, newLine: ts.NewLineKind.LineFeed });

function kindOf(target: ts.Symbol): string {
  const f = target.flags;
  if (f & ts.SymbolFlags.Class) return 'class';
  if (f & ts.SymbolFlags.Function) return 'function';
  if (f & ts.SymbolFlags.Variable) return f & ts.SymbolFlags.TypeAlias ? 'const + type' : 'const';
  if (f & ts.SymbolFlags.Interface) return 'interface';
  if (f & ts.SymbolFlags.TypeAlias) return 'type';
  if (f & ts.SymbolFlags.Enum) return 'enum';
  return 'other';
}

function hasExample(target: ts.Symbol): boolean {
  return (target.declarations ?? []).some((d) =>
    ts.getJSDocTags(d).some((tag) => tag.tagName.text === 'example'),
  );
}

/** Builds the report of every entry point from the source. */
export function buildApiReports(): EntryReport[] {
  const options = compilerOptions();
  const program = ts.createProgram(
    API_ENTRY_POINTS.map((e) => join(root, e.source)),
    options,
  );
  const checker = program.getTypeChecker();
  const emitted = emitDeclarations(program, options.outDir!);
  return API_ENTRY_POINTS.map((entry) => {
    const file = program.getSourceFile(join(root, entry.source));
    const moduleSymbol = file && checker.getSymbolAtLocation(file);
    if (!moduleSymbol) throw new Error(`cannot read the exports of ${entry.source}`);
    const exports = [...checker.getExportsOfModule(moduleSymbol)].sort((a, b) => a.name.localeCompare(b.name));
    const undocumented: string[] = [];
    const sections: string[] = [];
    for (const exported of exports) {
      const target = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
      const declaration = target.declarations?.[0];
      if (!declaration) throw new Error(`${entry.module}: ${exported.name} has no declaration`);
      const sourcePath = declaration.getSourceFile().fileName;
      const dts = emitted.get(sourcePath);
      if (!dts) throw new Error(`${entry.module}: no declarations emitted for ${sourcePath}`);
      const printed = dts.statements
        .filter((s) => declaredNames(s).includes(target.name))
        .map((s) => printer.printNode(ts.EmitHint.Unspecified, s, dts))
        .join('\n');
      const kind = kindOf(target);
      const renamed = target.name === exported.name ? '' : ` (declared as ${target.name})`;
      sections.push(
        `### ${exported.name}${renamed}\n\n${kind}, \`${relative(root, sourcePath)}\`\n\n\`\`\`ts\n${printed}\n\`\`\`\n`,
      );
      if (target.getDocumentationComment(checker).length === 0) undocumented.push(`${exported.name}: no TSDoc`);
      else if (target.flags & ts.SymbolFlags.Value && !hasExample(target))
        undocumented.push(`${exported.name}: no @example`);
    }
    const text = [
      `# API report: \`${entry.module}\``,
      '',
      `Generated by \`npm run api:report\` from \`${entry.source}\`; do not edit. ` +
        `${exports.length} exported names. A change here is a change of the public API.`,
      '',
      ...sections,
    ].join('\n');
    return { module: entry.module, report: entry.report, text, undocumented };
  });
}

/** The committed report of an entry point, or undefined when there is none yet. */
export function committedReport(report: string): string | undefined {
  try {
    return readFileSync(join(root, report), 'utf8');
  } catch {
    return undefined;
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  for (const entry of buildApiReports()) {
    writeFileSync(join(root, entry.report), entry.text);
    console.log(`${entry.report}: written`);
    for (const problem of entry.undocumented) console.log(`  ${entry.module} ${problem}`);
  }
}
