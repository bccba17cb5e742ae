// MAC addresses as 48-bit numbers (exact in a double).

export const MAC_BROADCAST = 0xffffffffffff;

export function formatMac(mac: number): string {
  const out: string[] = [];
  for (let i = 5; i >= 0; i--) {
    out.push((Math.floor(mac / 2 ** (8 * i)) % 256).toString(16).padStart(2, "0"));
  }
  return out.join(":");
}

export function parseMac(text: string): number | null {
  if (!/^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$/.test(text)) return null;
  return text.split(":").reduce((acc, b) => acc * 256 + parseInt(b, 16), 0);
}

export function isMulticastMac(mac: number): boolean {
  return Math.floor(mac / 2 ** 40) % 2 === 1;
}

/** A locally administered unicast MAC derived from a counter: deterministic runs. */
export function generatedMac(seq: number): number {
  // 02:xx:... like eth_random_addr() (locally administered, unicast), but seeded.
  let x = (seq * 2654435761) >>> 0;
  x ^= x >>> 13;
  return 0x020000000000 + ((seq & 0xff) * 2 ** 32) + x;
}
