// glibc's getopt_long(): bundled short options, "--name=value", unambiguous prefixes of
// long options, and its error messages (as printed when opterr is on).

export interface LongOption {
  name: string;
  /** 0: no argument, 1: required, 2: optional (only as --name=value). */
  hasArg: 0 | 1 | 2;
  /** What the option stands for: its short letter, or a name of the caller's. */
  val: string;
}

export interface GotOption {
  val: string;
  arg: string | null;
  /** As typed, for messages. */
  text: string;
}

export class GetoptError extends Error {}

/**
 * Parses argv (after the program name). `short` is getopt's optstring ("qw", "r:", "p::").
 * Non-options are permuted to the end (GNU order) unless `inOrder`; "--" ends options.
 */
export function getoptLong(prog: string, argv: string[], short: string, longs: LongOption[], inOrder = false): { opts: GotOption[]; rest: string[] } {
  const opts: GotOption[] = [];
  const rest: string[] = [];
  const shortArg = (ch: string): 0 | 1 | 2 | null => {
    const k = short.indexOf(ch);
    if (k < 0 || ch === ":") return null;
    return short[k + 1] === ":" ? (short[k + 2] === ":" ? 2 : 1) : 0;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--") {
      rest.push(...argv.slice(i + 1));
      break;
    }
    if (a.startsWith("--")) {
      const eq = a.indexOf("=");
      const word = eq >= 0 ? a.slice(2, eq) : a.slice(2);
      const o = findLong(prog, word, longs);
      if (o.hasArg === 0) {
        if (eq >= 0) throw new GetoptError(`${prog}: option '--${o.name}' doesn't allow an argument`);
        opts.push({ val: o.val, arg: null, text: a });
      } else if (eq >= 0) opts.push({ val: o.val, arg: a.slice(eq + 1), text: a });
      else if (o.hasArg === 2) opts.push({ val: o.val, arg: null, text: a });
      else {
        if (i + 1 >= argv.length) throw new GetoptError(`${prog}: option '--${o.name}' requires an argument`);
        opts.push({ val: o.val, arg: argv[++i]!, text: a });
      }
      continue;
    }
    if (a.startsWith("-") && a.length > 1) {
      for (let k = 1; k < a.length; k++) {
        const ch = a[k]!;
        const has = shortArg(ch);
        if (has === null) throw new GetoptError(`${prog}: invalid option -- '${ch}'`);
        if (has === 0) {
          opts.push({ val: ch, arg: null, text: `-${ch}` });
          continue;
        }
        if (k + 1 < a.length) opts.push({ val: ch, arg: a.slice(k + 1), text: `-${ch}` });
        else if (has === 2) opts.push({ val: ch, arg: null, text: `-${ch}` });
        else {
          if (i + 1 >= argv.length) throw new GetoptError(`${prog}: option requires an argument -- '${ch}'`);
          opts.push({ val: ch, arg: argv[++i]!, text: `-${ch}` });
        }
        break;
      }
      continue;
    }
    if (inOrder) {
      rest.push(...argv.slice(i));
      break;
    }
    rest.push(a);
  }
  return { opts, rest };
}

/** An exact name, else the one option (or options meaning the same) the word is a prefix of. */
function findLong(prog: string, word: string, longs: LongOption[]): LongOption {
  const exact = longs.find((o) => o.name === word);
  if (exact) return exact;
  const hits = longs.filter((o) => o.name.startsWith(word));
  if (!hits.length) throw new GetoptError(`${prog}: unrecognized option '--${word}'`);
  const first = hits[0]!;
  if (hits.every((o) => o.val === first.val && o.hasArg === first.hasArg)) return first;
  throw new GetoptError(`${prog}: option '--${word}' is ambiguous; possibilities:${hits.map((o) => ` '--${o.name}'`).join("")}`);
}

/** getopt_long's lookup alone: the option, or why there is none. */
export function resolveLongOption(word: string, longs: LongOption[]): LongOption | "unknown" | "ambiguous" {
  try {
    return findLong("", word, longs);
  } catch (e) {
    if (e instanceof GetoptError) return /ambiguous/.test(e.message) ? "ambiguous" : "unknown";
    throw e;
  }
}
