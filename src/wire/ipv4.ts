// IPv4 addresses as uint32 numbers: parsing, formatting and prefix arithmetic.

/** Parses a dotted quad strictly ("10.0.0.1"); null when it is not one. */
export function parseIPv4(text: string): number | null {
  const parts = text.split(".");
  if (parts.length !== 4) return null;
  let value = 0;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part)) return null;
    const octet = Number(part);
    if (octet > 255) return null;
    value = value * 256 + octet;
  }
  return value;
}

export function formatIPv4(addr: number): string {
  return `${addr >>> 24}.${(addr >>> 16) & 255}.${(addr >>> 8) & 255}.${addr & 255}`;
}

/** The netmask of a prefix length as uint32 (0 for /0). */
export function maskOf(plen: number): number {
  return plen === 0 ? 0 : (0xffffffff << (32 - plen)) >>> 0;
}

export function networkOf(addr: number, plen: number): number {
  return (addr & maskOf(plen)) >>> 0;
}

export function broadcastOf(addr: number, plen: number): number {
  return (networkOf(addr, plen) | (~maskOf(plen) >>> 0)) >>> 0;
}

export function inPrefix(addr: number, net: number, plen: number): boolean {
  return ((addr & maskOf(plen)) >>> 0) === net;
}

export interface Prefix {
  addr: number;
  plen: number;
}

/** "10.0.0.1/24" or "10.0.0.1" (plen 32); null when malformed. */
export function parsePrefix(text: string): Prefix | null {
  const slash = text.indexOf("/");
  const addr = parseIPv4(slash < 0 ? text : text.slice(0, slash));
  if (addr === null) return null;
  if (slash < 0) return { addr, plen: 32 };
  const lenText = text.slice(slash + 1);
  if (!/^\d{1,2}$/.test(lenText)) return null;
  const plen = Number(lenText);
  return plen > 32 ? null : { addr, plen };
}

export function formatPrefix(p: Prefix): string {
  return p.plen === 32 ? formatIPv4(p.addr) : `${formatIPv4(p.addr)}/${p.plen}`;
}

export const INADDR_ANY = 0;
export const INADDR_BROADCAST = 0xffffffff;

export function isLoopback(addr: number): boolean {
  return addr >>> 24 === 127;
}
export function isMulticast(addr: number): boolean {
  return addr >>> 28 === 0xe;
}
export function isZeronet(addr: number): boolean {
  return addr >>> 24 === 0;
}
