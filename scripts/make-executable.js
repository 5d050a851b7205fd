// Marks compiled entry points executable (tsc writes files without the x bit),
// so `npx rollgate` works right after a build.
import { chmodSync } from 'node:fs';

for (const file of process.argv.slice(2)) chmodSync(file, 0o755);
