/**
 * Human and machine output. With --json every command prints one JSON
 * document on stdout; otherwise tables and colour on a terminal, and plain
 * tab-separated lines without colour when piped or NO_COLOR is set.
 */

/** Where the command writes; a parameter so that tests can capture it. */
export interface CliIo {
  out: (line: string) => void;
  err: (line: string) => void;
  /** stdout is a terminal (tables, colour, redraws). Default false. */
  isTTY?: boolean;
  /** stderr is a terminal (progress lines). Default false. */
  errIsTTY?: boolean;
  /** Rewrites the terminal from the top (rollout watch); only on a terminal. */
  redraw?: (lines: readonly string[]) => void;
}

export interface Column<T> {
  header: string;
  value: (row: T) => string;
  /** Colour of a cell on a terminal. */
  colour?: (row: T) => Colour | undefined;
}

export type Colour = 'green' | 'yellow' | 'red' | 'dim' | 'bold' | 'cyan';

const CODES: Record<Colour, [number, number]> = { green: [32, 39], yellow: [33, 39], red: [31, 39], dim: [2, 22], bold: [1, 22], cyan: [36, 39] };

/** The colour of a health or status word. */
export function statusColour(word: string | undefined): Colour | undefined {
  switch (word) {
    case 'green':
    case 'completed':
    case 'pass':
    case 'running':
      return 'green';
    case 'yellow':
    case 'held':
    case 'awaiting_approval':
    case 'draft':
    case 'inconclusive':
    case 'no_data':
      return 'yellow';
    case 'red':
    case 'rolled_back':
    case 'aborted':
    case 'fail':
      return 'red';
    default:
      return undefined;
  }
}

export class Printer {
  readonly json: boolean;
  readonly tty: boolean;
  private readonly colourOn: boolean;

  constructor(
    readonly io: CliIo,
    options: { json: boolean; colour: boolean },
  ) {
    this.json = options.json;
    this.tty = io.isTTY === true;
    this.colourOn = options.colour && this.tty;
  }

  paint(text: string, colour: Colour | undefined): string {
    if (!this.colourOn || colour === undefined) return text;
    const [open, close] = CODES[colour];
    return `\u001b[${open}m${text}\u001b[${close}m`;
  }

  line(text = ''): void {
    this.io.out(text);
  }

  /** A note for people (stderr), not part of the output a script reads. */
  note(text: string): void {
    this.io.err(text);
  }

  /** Progress of long work: on a terminal only, on stderr. */
  progress(text: string): void {
    if (this.io.errIsTTY === true && !this.json) this.io.err(text);
  }

  printJson(value: unknown): void {
    this.io.out(JSON.stringify(value, null, 2));
  }

  /** A table: aligned with a header on a terminal, tab-separated without one when piped. */
  table<T>(rows: readonly T[], columns: readonly Column<T>[], empty = 'Nothing to show.'): void {
    const cells = rows.map((row) => columns.map((c) => c.value(row)));
    if (!this.tty) {
      for (const r of cells) this.io.out(r.join('\t'));
      return;
    }
    if (rows.length === 0) {
      this.io.out(this.paint(empty, 'dim'));
      return;
    }
    const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((r) => (r[i] ?? '').length)));
    const pad = (text: string, i: number) => (i === columns.length - 1 ? text : text.padEnd(widths[i] ?? 0));
    this.io.out(this.paint(columns.map((c, i) => pad(c.header.toUpperCase(), i)).join('  '), 'bold'));
    rows.forEach((row, r) => {
      this.io.out(columns.map((c, i) => this.paint(pad(cells[r]?.[i] ?? '', i), c.colour?.(row))).join('  '));
    });
  }

  /** Key/value lines of one resource. */
  fields(pairs: readonly [string, string | undefined][]): void {
    const width = Math.max(...pairs.map(([k]) => k.length));
    for (const [k, v] of pairs) if (v !== undefined) this.io.out(this.tty ? `${this.paint(k.padEnd(width), 'bold')}  ${v}` : `${k}\t${v}`);
  }
}
