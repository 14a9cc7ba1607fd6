#!/usr/bin/env -S node --max-semi-space-size=4
// (A crawl allocates fast and keeps little: a small young generation keeps peak RSS about 25 MB
// lower at no cost in pages/s. `node bin/trawl.js` works too, without that flag.)
// The `trawl` command. Runs the compiled CLI from dist/ (built by `npm run build`, which `npm ci` runs).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const main = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(main))) {
  process.stderr.write('trawl: not built yet; run `npm run build` (npm ci does it for you)\n');
  process.exit(2);
}
await import(main.href);
