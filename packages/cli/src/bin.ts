#!/usr/bin/env node
import { runCli } from './cli.js';

// A closed pipe (rollgate flags list | head) ends the output, not with a stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
}

const stdoutIsTTY = process.stdout.isTTY === true;
process.exitCode = await runCli(process.argv.slice(2), {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  isTTY: stdoutIsTTY,
  errIsTTY: process.stderr.isTTY === true,
  // Clear the screen and draw from the top: the live views of watch and demo.
  redraw: stdoutIsTTY ? (lines) => process.stdout.write(`\u001b[H\u001b[2J${lines.join('\n')}\n`) : undefined,
});
