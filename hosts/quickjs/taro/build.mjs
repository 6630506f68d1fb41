// Bundles src/entry.js (Taro's weapp runtime from node_modules, installed
// by `npm ci` from package-lock.json) into dist/taro.js, one script for
// QuickJS, and records the versions in dist/taro.version. build.rs embeds
// both into nettask-qjs.
import { build } from 'esbuild'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const version = (name) =>
  JSON.parse(readFileSync(join(here, 'node_modules', name, 'package.json'), 'utf8')).version

const taroVersion = version('@tarojs/taro')
const result = await build({
  entryPoints: [join(here, 'src/entry.js')],
  outfile: join(here, 'dist/taro.js'),
  write: false,
  // Paths in the bundle's comments are relative to this directory, the same
  // from wherever the script runs.
  absWorkingDir: here,
  bundle: true,
  format: 'iife',
  platform: 'neutral',
  mainFields: ['module', 'main'],
  target: 'es2020',
  legalComments: 'inline',
  logLevel: 'warning',
  // What Taro's mini-program build (@tarojs/webpack5-runner) defines for
  // a weapp app with its default config; webpack's `global` is the global
  // object.
  define: {
    global: 'globalThis',
    'process.env.TARO_ENV': '"weapp"',
    'process.env.TARO_PLATFORM': '"mini"',
    'process.env.NODE_ENV': '"production"',
    'process.env.FRAMEWORK': '"react"',
    'process.env.TARO_VERSION': JSON.stringify(taroVersion),
    'process.env.SUPPORT_TARO_POLYFILL': '"disabled"',
    ENABLE_INNER_HTML: 'true',
    ENABLE_ADJACENT_HTML: 'false',
    ENABLE_SIZE_APIS: 'false',
    ENABLE_TEMPLATE_CONTENT: 'false',
    ENABLE_CLONE_NODE: 'false',
    ENABLE_CONTAINS: 'false',
    ENABLE_MUTATION_OBSERVER: 'false',
  },
})
const versions = ['@tarojs/taro', '@tarojs/api', '@tarojs/runtime', '@tarojs/shared', '@tarojs/plugin-platform-weapp']
  .map((name) => `${name}@${version(name)}`)
  .join(', ')
// Written only when they change, so that cargo does not rebuild the host
// for an identical bundle.
const writeIfChanged = (path, text) => {
  if (!existsSync(path) || readFileSync(path, 'utf8') !== text) writeFileSync(path, text)
}
mkdirSync(join(here, 'dist'), { recursive: true })
writeIfChanged(join(here, 'dist/taro.js'), result.outputFiles[0].text)
writeIfChanged(join(here, 'dist/taro.version'), `${versions}; esbuild ${version('esbuild')}\n`)
