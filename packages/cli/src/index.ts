export { runCli, buildProgram, VERSION, EXIT, type CliIo } from './cli.js';
