#!/usr/bin/env node
// The rollgate executable. From the packed package (npm install -g) it runs
// the bundle built by `npm pack`, which carries the workspace packages; in
// the repository it runs the compiled sources (npm install builds them).
import { existsSync } from 'node:fs';

const bundle = new URL('../dist/bundle/rollgate.js', import.meta.url);
const compiled = new URL('../dist/bin.js', import.meta.url);
if (existsSync(bundle)) await import(bundle.href);
else if (existsSync(compiled)) await import(compiled.href);
else {
  process.stderr.write('rollgate is not built yet: run npm install (or npm run build) in the repository first.\n');
  process.exitCode = 1;
}
