/**
 * Exit codes of the command (docs/cli.md lists them) and the errors that
 * carry them. A message says what went wrong and what to do.
 */
export const EXIT = {
  ok: 0,
  /** The server refused the request, a check failed, or the work failed. */
  failed: 1,
  /** Bad usage: unknown command or option, missing argument, unreadable file. */
  usage: 2,
  /** No token, or the token may not do this (401, 403). */
  auth: 3,
  /** No such project, flag, segment, plan or rollout (404). */
  notFound: 4,
  /** The resource is not in a state that allows this, or changed since it was read (409). */
  conflict: 5,
  /** The server cannot be reached. */
  unreachable: 6,
  /** `rollout watch`: the rollout ended rolled back or aborted. */
  rolledBack: 7,
  /** Stopped by Ctrl-C. */
  interrupted: 130,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** An error to print as `rollgate <command>: <message>`, exiting with `exitCode`. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode = EXIT.failed,
    /** The server's error body, printed as is with --json. */
    readonly body?: unknown,
  ) {
    super(message);
  }
}

/** Bad usage: exit code 2. */
export class UsageError extends CliError {
  constructor(message: string) {
    super(message, EXIT.usage);
  }
}
