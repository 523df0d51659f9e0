// Compiles the registry with the pinned solc (WebAssembly, from npm) through standard JSON.
// Reads the standard-JSON input on stdin and writes solc's output on stdout, so that the
// Python side owns the settings and the artifact format.
import { createRequire } from 'node:module'
const require = createRequire(import.meta.url)
const solc = require('solc')

let input = ''
process.stdin.setEncoding('utf8')
process.stdin.on('data', (chunk) => { input += chunk })
process.stdin.on('end', () => {
  const output = JSON.parse(solc.compile(input))
  output.solcVersion = solc.version()
  process.stdout.write(JSON.stringify(output))
})
