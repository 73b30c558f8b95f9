// Summarises cache-tests results the way cache-tests.fyi classifies them (the suite's own
// determineTestResult): our run beside every published reverse proxy and CDN.
//
//   node scripts/cache-tests/summary.mjs RESULTS.json [--markdown] [--failures]
//
// Exits 1 when our run has a required failure or a setup failure outside the deliberate ones
// below, each with its reason (docs/cache.md says more).
import fs from 'fs'
import path from 'path'
import { fileURLToPath } from 'url'

const here = path.dirname(fileURLToPath(import.meta.url))
const suite = path.join(here, '../../vendor/cache-tests')
const { default: tests } = await import(path.join(suite, 'tests/index.mjs'))
const { default: published } = await import(path.join(suite, 'results/index.mjs'))
const { determineTestResult, resultTypes } = await import(path.join(suite, 'test-engine/lib/results.mjs'))

const [ours, ...flags] = process.argv.slice(2)
if (!ours) {
  console.error('usage: summary.mjs RESULTS.json [--markdown] [--failures]')
  process.exit(2)
}
const deliberate = [
  [id => id.startsWith('interim-'), "hyper's server cannot send 1xx responses (hyperium/hyper#4114)"],
  [id => id.endsWith('-Set-Cookie'), 'responses with Set-Cookie are never stored (one client\'s session must not reach another); both are `check` tests, not requirements'],
]
const reason = id => deliberate.find(([matches]) => matches(id))?.[1]

function tally (results) {
  const counts = { fail: [], setup: [], optimal: [], pass: 0, harness: [] }
  for (const testSuite of tests) {
    for (const test of testSuite.tests) {
      if (test.browser_only === true) continue
      const result = determineTestResult(tests, test.id, results)
      if (result === resultTypes.pass) counts.pass++
      else if (result === resultTypes.fail) counts.fail.push(test.id)
      else if (result === resultTypes.setup_fail) counts.setup.push(test.id)
      else if (result === resultTypes.optional_fail) counts.optimal.push(test.id)
      else if (result === resultTypes.harness_fail) counts.harness.push(test.id)
    }
  }
  return counts
}

const rows = [['rampart', tally(JSON.parse(fs.readFileSync(ours, 'utf8')))]]
for (const item of published) {
  if (item.type === 'browser') continue
  const results = JSON.parse(fs.readFileSync(path.join(suite, 'results', item.file), 'utf8'))
  rows.push([`${item.name} ${item.version}`, tally(results)])
}
const [, mine] = rows[0]
rows.sort((a, b) => a[1].fail.length - b[1].fail.length || b[1].pass - a[1].pass)

if (flags.includes('--markdown')) {
  console.log('| implementation | required tests failed | setup failures | optimal misses | passed |')
  console.log('|---|---|---|---|---|')
  for (const [name, c] of rows) {
    console.log(`| ${name} | ${c.fail.length} | ${c.setup.length} | ${c.optimal.length} | ${c.pass} |`)
  }
} else {
  for (const [name, c] of rows) {
    console.log(`${name.padEnd(32)} required failed ${String(c.fail.length).padStart(3)}  setup ${String(c.setup.length).padStart(3)}  optimal missed ${String(c.optimal.length).padStart(3)}  passed ${String(c.pass).padStart(4)}`)
  }
}
if (flags.includes('--failures')) {
  for (const kind of ['fail', 'setup', 'harness', 'optimal']) {
    if (mine[kind].length) console.log(`\n${kind}: ${mine[kind].join(' ')}`)
  }
}
const excused = [...mine.fail, ...mine.setup].filter(reason)
if (excused.length) {
  console.log('\ndeliberate:')
  for (const id of excused) console.log(`  ${id}: ${reason(id)}`)
}
const blocking = [...mine.fail, ...mine.setup].filter(id => !reason(id))
if (blocking.length) {
  console.error(`\nrequired or setup failures: ${blocking.join(' ')}`)
  process.exit(1)
}
