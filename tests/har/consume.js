// consume.js - a real HAR consumer reads wstap's archives: har-validator (the npm package
// request used to check HAR input) parses each file given and validates it as a HAR 1.2 log.
// Prints "ok FILE (N entries)" or "FAIL FILE: why" per file; exit 1 if any failed.
'use strict'
const fs = require('fs')
const path = require('path')
const validator = require(path.join(__dirname, 'node_modules', 'har-validator'))

async function main () {
  let failed = 0
  for (const file of process.argv.slice(2)) {
    try {
      const har = JSON.parse(fs.readFileSync(file, 'utf8'))
      await validator.har(har)
      console.log('ok ' + file + ' (' + har.log.entries.length + ' entries)')
    } catch (e) {
      failed++
      console.log('FAIL ' + file + ': ' + (e.errors ? JSON.stringify(e.errors).slice(0, 600) : e.message))
    }
  }
  process.exit(failed ? 1 : 0)
}
main()
