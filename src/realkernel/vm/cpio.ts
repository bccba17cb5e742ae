// A minimal writer of the kernel's initramfs format ("newc" cpio): the per-run archive
// (guest agent, plans) that is appended to the cached image. The kernel unpacks
// concatenated archives in order, so these files land on top of the image's.
import { gzipSync } from "node:zlib";

export interface CpioEntry {
  /** Path inside the archive, without a leading slash ("pktpath/batch.json"). */
  path: string;
  /** File contents; null for a directory. */
  data: Buffer | string | null;
  /** Permission bits (0o644 files, 0o755 directories by default). */
  mode?: number;
}

const pad4 = (n: number) => (4 - (n % 4)) % 4;

function header(ino: number, mode: number, size: number, nameLen: number): string {
  const f = (n: number) => n.toString(16).toUpperCase().padStart(8, "0");
  // magic, ino, mode, uid, gid, nlink, mtime, filesize, devmajor, devminor, rdevmajor, rdevminor, namesize, check
  return "070701" + [ino, mode, 0, 0, mode & 0o040000 ? 2 : 1, 0, size, 0, 0, 0, 0, nameLen, 0].map(f).join("");
}

/** The archive of entries (parent directories first, as listed), uncompressed. */
export function cpioNewc(entries: CpioEntry[]): Buffer {
  const parts: Buffer[] = [];
  let ino = 1;
  const push = (name: string, mode: number, data: Buffer) => {
    const nameBuf = Buffer.from(name + "\0", "utf8");
    const head = Buffer.from(header(ino++, mode, data.length, nameBuf.length), "ascii");
    parts.push(head, nameBuf, Buffer.alloc(pad4(head.length + nameBuf.length)), data, Buffer.alloc(pad4(data.length)));
  };
  for (const e of entries) {
    const name = e.path.replace(/^\/+/, "");
    if (!name || name.split("/").includes("..")) throw new Error(`cpio: bad path ${JSON.stringify(e.path)}`);
    if (e.data === null) push(name, 0o040000 | (e.mode ?? 0o755), Buffer.alloc(0));
    else push(name, 0o100000 | (e.mode ?? 0o644), Buffer.isBuffer(e.data) ? e.data : Buffer.from(e.data, "utf8"));
  }
  push("TRAILER!!!", 0, Buffer.alloc(0));
  return Buffer.concat(parts);
}

/** Reads a newc archive back (tests, and a check before a run). */
export function readCpioNewc(buf: Buffer): { path: string; mode: number; data: Buffer }[] {
  const out: { path: string; mode: number; data: Buffer }[] = [];
  let off = 0;
  for (;;) {
    if (buf.toString("ascii", off, off + 6) !== "070701") throw new Error(`cpio: bad magic at ${off}`);
    const field = (i: number) => parseInt(buf.toString("ascii", off + 6 + i * 8, off + 14 + i * 8), 16);
    const mode = field(1);
    const size = field(6);
    const nameLen = field(11);
    const nameStart = off + 110;
    const name = buf.toString("utf8", nameStart, nameStart + nameLen - 1);
    const dataStart = nameStart + nameLen + pad4(110 + nameLen);
    if (name === "TRAILER!!!") return out;
    out.push({ path: name, mode, data: buf.subarray(dataStart, dataStart + size) });
    off = dataStart + size + pad4(size);
  }
}

/** Gzipped: the kernel needs each appended archive compressed when the one before it is. */
export function cpioGz(entries: CpioEntry[]): Buffer {
  return gzipSync(cpioNewc(entries), { level: 1 });
}
