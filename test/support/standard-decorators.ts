import ts from 'typescript'
import type { Plugin } from 'vite'

/** A decorator at the start of a line or after `{` / `;`: `@cacheable({ … })`, `class A { @log m() {} }` (not JSDoc's `{@link …}`). */
const DECORATOR_RE = /(?:^|[{;])\s*@(?!link(?:code|plain)?\b)[A-Za-z_$]/m

/**
 * Lowers standard (TC39) decorators in test files with the TypeScript compiler.
 *
 * Vitest 4 transforms TypeScript with Vite 8's Oxc, which strips types but only lowers legacy
 * (`experimentalDecorators`) decorators: standard ones are left in the output, and Node 20's V8
 * cannot parse them ("SyntaxError: Invalid or unexpected token"). This plugin runs first, only on
 * files with a decorator, and emits what `tsc` would (target ES2022: decorators become
 * `__esDecorate` calls); Oxc then sees plain JavaScript.
 */
export function standardDecorators(): Plugin {
  return {
    name: 'tiercache:standard-decorators',
    enforce: 'pre',
    transform(code, id) {
      const file = id.split('?')[0]!
      if (!/\.[cm]?ts$/.test(file) || file.includes('/node_modules/') || !DECORATOR_RE.test(code)) return null
      const out = ts.transpileModule(code, {
        fileName: file,
        compilerOptions: {
          target: ts.ScriptTarget.ES2022,
          module: ts.ModuleKind.ESNext,
          verbatimModuleSyntax: true,
          experimentalDecorators: false,
          sourceMap: true,
          inlineSources: true,
        },
      })
      return { code: out.outputText.replace(/\n\/\/# sourceMappingURL=.*$/, ''), map: out.sourceMapText ?? null }
    },
  }
}
