// The CLI's surroundings: where output goes, whether stderr is a terminal (progress),
// whether colours are wanted (a TTY and no NO_COLOR), and a buffered line writer.
import pc from "picocolors";

export interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
  /** stdout is a terminal: colours may be used (unless NO_COLOR). */
  outTTY?: boolean;
  /** stderr is a terminal: progress may be shown (unless --quiet). */
  errTTY?: boolean;
  /** The environment (NO_COLOR); process.env by default for the real process. */
  env?: Record<string, string | undefined>;
}

export function processIo(): Io {
  return {
    out: (s) => {
      process.stdout.write(s);
    },
    err: (s) => {
      process.stderr.write(s);
    },
    outTTY: process.stdout.isTTY === true,
    errTTY: process.stderr.isTTY === true,
    env: process.env,
  };
}

/** Colour functions: identity unless stdout is a TTY and NO_COLOR is unset or empty. */
export interface Colours {
  pass: (s: string) => string;
  fail: (s: string) => string;
  dim: (s: string) => string;
  bold: (s: string) => string;
}

const PLAIN_COLOURS: Colours = { pass: (s) => s, fail: (s) => s, dim: (s) => s, bold: (s) => s };

export function colours(io: Io): Colours {
  const noColor = io.env?.NO_COLOR;
  if (!io.outTTY || (noColor !== undefined && noColor !== "")) return PLAIN_COLOURS;
  const c = pc.createColors(true);
  return { pass: c.green, fail: (s) => c.bold(c.red(s)), dim: c.dim, bold: c.bold };
}

/** Progress on stderr: one line redrawn in place, only on a TTY and without --quiet. */
export class Progress {
  private shown = false;
  constructor(
    private readonly io: Io,
    private readonly enabled: boolean,
  ) {}

  static for(io: Io, quiet: boolean): Progress {
    return new Progress(io, !quiet && io.errTTY === true);
  }

  update(msg: string): void {
    if (!this.enabled) return;
    this.io.err(`\r\x1b[K${msg}`);
    this.shown = true;
  }

  /** Removes the progress line (before normal output or at the end). */
  clear(): void {
    if (!this.shown) return;
    this.io.err("\r\x1b[K");
    this.shown = false;
  }
}

/** Lines written in chunks: one write per ~64 KB instead of one per line. */
export class LineWriter {
  private buf: string[] = [];
  private size = 0;
  constructor(private readonly write: (s: string) => void) {}

  line(s: string): void {
    this.buf.push(s, "\n");
    this.size += s.length + 1;
    if (this.size >= 65536) this.flush();
  }

  flush(): void {
    if (!this.buf.length) return;
    this.write(this.buf.join(""));
    this.buf = [];
    this.size = 0;
  }
}
