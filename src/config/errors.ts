// Errors the kernel returns to a configuring tool: an errno and, where the kernel
// fills one in, an extended-ack message (iproute2 prints it as "Error: ...").

export type Errno =
  | "EPERM"
  | "ENOENT"
  | "ESRCH"
  | "EEXIST"
  | "ENODEV"
  | "EINVAL"
  | "ENOSPC"
  | "EBUSY"
  | "ENETUNREACH"
  | "ENETDOWN"
  | "EADDRNOTAVAIL"
  | "EOPNOTSUPP"
  | "ELOOP"
  | "ENOTSUP"
  | "ENOTCONN";

const STRERROR: Record<Errno, string> = {
  EPERM: "Operation not permitted",
  ENOENT: "No such file or directory",
  ESRCH: "No such process",
  EEXIST: "File exists",
  ENODEV: "No such device",
  EINVAL: "Invalid argument",
  ENOSPC: "No space left on device",
  EBUSY: "Device or resource busy",
  ENETUNREACH: "Network is unreachable",
  ENETDOWN: "Network is down",
  EADDRNOTAVAIL: "Cannot assign requested address",
  EOPNOTSUPP: "Operation not supported",
  ELOOP: "Too many levels of symbolic links",
  ENOTSUP: "Operation not supported",
  ENOTCONN: "Transport endpoint is not connected",
};

export function strerror(errno: Errno): string {
  return STRERROR[errno];
}

export class KernelError extends Error {
  constructor(
    readonly errno: Errno,
    readonly extack: string | null = null,
  ) {
    super(extack ?? strerror(errno));
    this.name = "KernelError";
  }
}

/** Words longer than this are cut in messages; real names, comments and options are shorter. */
export const MAX_ECHO_WORD = 256;
/** A message longer than this keeps its start and says how much was left out. */
export const MAX_MESSAGE = 4096;

/** One word cut to its start: `aaaa...(10485760 bytes)`. */
export function shortenWord(word: string, keep = 32): string {
  if (word.length <= MAX_ECHO_WORD) return word;
  return `${word.slice(0, keep)}...(${Buffer.byteLength(word)} bytes)`;
}

/**
 * A message that echoes its input, made safe to print: every word longer than
 * MAX_ECHO_WORD is cut with an ellipsis and its size, and the whole stays under
 * MAX_MESSAGE characters (what was left out is counted).
 */
export function shortenMessage(msg: string): string {
  let out = msg.length > MAX_ECHO_WORD ? cutLongWords(msg) : msg;
  if (out.length > MAX_MESSAGE) {
    const rest = out.slice(MAX_MESSAGE);
    out = `${out.slice(0, MAX_MESSAGE)}...(${Buffer.byteLength(rest)} more bytes)`;
  }
  return out;
}

const WRAP = `"'\`()[]{}<>,.:;`;

/** Each run of non-blank characters longer than MAX_ECHO_WORD, shortened (a scan: no regex backtracking on megabytes). */
function cutLongWords(msg: string): string {
  const parts: string[] = [];
  let from = 0;
  let start = -1;
  for (let i = 0; i <= msg.length; i++) {
    const c = i < msg.length ? msg.charCodeAt(i) : 32;
    const blank = c === 32 || c === 9 || c === 10 || c === 13;
    if (!blank && start < 0) start = i;
    else if (blank && start >= 0) {
      if (i - start > MAX_ECHO_WORD) {
        // Quotes and brackets around the word stay, so the message still reads as it did.
        let a = start;
        let b = i;
        while (a < b && a - start < 2 && WRAP.includes(msg[a]!)) a++;
        while (b > a && i - b < 2 && WRAP.includes(msg[b - 1]!)) b--;
        parts.push(msg.slice(from, a), shortenWord(msg.slice(a, b)), msg.slice(b, i));
        from = i;
      }
      start = -1;
    }
  }
  if (from === 0) return msg;
  parts.push(msg.slice(from));
  return parts.join("");
}
