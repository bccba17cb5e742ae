// The snapshot file written by snapshot.sh: one JSON object, every command's output kept
// as text with its exit status. Parsing it checks every field and names what is wrong.

export interface Captured {
  out: string;
  rc: number;
}

export interface SnapshotNetns {
  name: string;
  kind: "root" | "named" | "process";
  id: string;
  link: Captured | null;
  address: Captured | null;
  route: Captured | null;
  rule: Captured | null;
  neigh: Captured | null;
  bridge_link: Captured | null;
  sysctl: Captured | null;
  iptables_version: Captured | null;
  iptables_save: Captured | null;
  ipset_save: Captured | null;
  ipvsadm_save: Captured | null;
  ipvsadm_list: Captured | null;
  /** nftables tables other than iptables-nft's own, by "family:name". */
  nft_tables: Record<string, Captured> | null;
  conntrack: Captured | null;
}

export interface Snapshot {
  hostname: string;
  kernel: string;
  date: string;
  netns: SnapshotNetns[];
  errors: string;
}

export class SnapshotError extends Error {
  constructor(
    readonly file: string,
    readonly detail: string,
  ) {
    super(`${file}: ${detail}`);
    this.name = "SnapshotError";
  }
}

const FIELDS = ["link", "address", "route", "rule", "neigh", "bridge_link", "sysctl", "iptables_version", "iptables_save", "ipset_save", "ipvsadm_save", "ipvsadm_list", "conntrack"] as const;

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Parses and checks a snapshot file's text. */
export function parseSnapshot(file: string, text: string): Snapshot {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new SnapshotError(file, `not a pktpath snapshot: ${(e as Error).message}`);
  }
  if (!isObj(raw) || raw["pktpath_snapshot"] !== 1) throw new SnapshotError(file, 'not a pktpath snapshot (no "pktpath_snapshot": 1)');
  if (!Array.isArray(raw["netns"]) || raw["netns"].length === 0) throw new SnapshotError(file, '"netns" must be a non-empty list');
  const str = (v: unknown, what: string): string => {
    if (typeof v !== "string") throw new SnapshotError(file, `${what} must be a string`);
    return v;
  };
  const seen = new Set<string>();
  const netns = raw["netns"].map((n: unknown, i: number): SnapshotNetns => {
    if (!isObj(n)) throw new SnapshotError(file, `netns[${i}] must be an object`);
    const name = str(n["name"], `netns[${i}].name`);
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(name)) throw new SnapshotError(file, `netns[${i}].name "${name}" is not a namespace name`);
    if (seen.has(name)) throw new SnapshotError(file, `netns[${i}]: namespace "${name}" appears twice`);
    seen.add(name);
    const kind = str(n["kind"], `netns[${i}].kind`);
    if (kind !== "root" && kind !== "named" && kind !== "process") throw new SnapshotError(file, `netns[${i}].kind "${kind}" must be root, named or process`);
    if ((kind === "root") !== (i === 0)) throw new SnapshotError(file, `netns[${i}]: the root namespace must come first, and only once`);
    const out: Record<string, Captured | null> = {};
    for (const f of FIELDS) {
      const v = n[f];
      if (v === null || v === undefined) out[f] = null;
      else if (isObj(v) && typeof v["out"] === "string" && typeof v["rc"] === "number") out[f] = { out: v["out"], rc: v["rc"] };
      else throw new SnapshotError(file, `netns[${i}] (${name}).${f} must be {"out": TEXT, "rc": N} or null`);
    }
    let nft: Record<string, Captured> | null = null;
    const t = n["nft_tables"];
    if (isObj(t)) {
      nft = {};
      for (const [k, v] of Object.entries(t)) {
        if (!/^[a-z0-9]+:[^\s]+$/.test(k) || !isObj(v) || typeof v["out"] !== "string" || typeof v["rc"] !== "number") throw new SnapshotError(file, `netns[${i}] (${name}).nft_tables["${k}"] must be {"out": TEXT, "rc": N} under "FAMILY:NAME"`);
        nft[k] = { out: v["out"], rc: v["rc"] };
      }
    } else if (t !== null && t !== undefined) throw new SnapshotError(file, `netns[${i}] (${name}).nft_tables must be an object or null`);
    return { name: kind === "root" ? "host" : name, kind, id: String(n["id"] ?? ""), nft_tables: nft, ...(out as Record<(typeof FIELDS)[number], Captured | null>) };
  });
  return {
    hostname: str(raw["hostname"] ?? "", "hostname"),
    kernel: str(raw["kernel"] ?? "", "kernel"),
    date: str(raw["date"] ?? "", "date"),
    netns,
    errors: str(raw["errors"] ?? "", "errors"),
  };
}

/** The JSON a field holds (ip -j, bridge -j, nft -j), or null when it was not read. */
export function jsonField(file: string, ns: string, key: string, c: Captured | null): unknown[] | null {
  if (!c || c.rc !== 0 || c.out.trim() === "") return null;
  let v: unknown;
  try {
    v = JSON.parse(c.out);
  } catch (e) {
    throw new SnapshotError(file, `${ns}.${key}: the output is not JSON: ${(e as Error).message}`);
  }
  if (Array.isArray(v)) return v;
  if (isObj(v) && Array.isArray(v["nftables"])) return v["nftables"];
  throw new SnapshotError(file, `${ns}.${key}: expected a JSON list`);
}
