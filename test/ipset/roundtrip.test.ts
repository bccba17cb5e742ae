// add-del-test-agree and save-restore-save-identity over every type, with random
// elements written in ipset's own syntax.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { Host } from "../../src/host.ts";
import { fmt, ip, ipsetHost, maskOf, sh } from "./world.ts";

const BASE = ip("10.0.0.0");
const a = fc.integer({ min: 0, max: 7 }).map((i) => fmt(BASE + i));
const port = fc.oneof(
  fc.tuple(fc.constantFrom("tcp", "udp", "sctp"), fc.integer({ min: 1, max: 4 })).map(([p, n]) => `${p}:${n}`),
  fc.constantFrom("icmp:echo-request", "icmp:3/3", "gre:0"),
);
/** Networks below /32: `ipset test` of them is an exact lookup, as add and del are. */
const net = fc.tuple(fc.integer({ min: 0, max: 7 }), fc.constantFrom(24, 28, 30, 31)).map(([i, c]) => `${fmt(((BASE + i) & maskOf(c)) >>> 0)}/${c}`);
const iface = fc.constantFrom("eth0", "eth1", "physdev:br0");

interface TypeCase {
  create: string;
  elem: fc.Arbitrary<string>;
  nomatch: boolean;
}

const TYPES: Record<string, TypeCase> = {
  "hash:ip": { create: "hash:ip", elem: a, nomatch: false },
  "hash:ip,port": { create: "hash:ip,port", elem: fc.tuple(a, port).map((t) => t.join(",")), nomatch: false },
  "hash:ip,port,ip": { create: "hash:ip,port,ip", elem: fc.tuple(a, port, a).map((t) => t.join(",")), nomatch: false },
  "hash:ip,port,net": { create: "hash:ip,port,net", elem: fc.tuple(a, port, net).map((t) => t.join(",")), nomatch: true },
  "hash:net": { create: "hash:net", elem: net, nomatch: true },
  "hash:net,port": { create: "hash:net,port", elem: fc.tuple(net, port).map((t) => t.join(",")), nomatch: true },
  "hash:net,iface": { create: "hash:net,iface", elem: fc.tuple(net, iface).map((t) => t.join(",")), nomatch: true },
  "bitmap:ip": { create: "bitmap:ip range 10.0.0.0/29", elem: a, nomatch: false },
  "bitmap:port": { create: "bitmap:port range 1-4", elem: fc.integer({ min: 1, max: 4 }).map(String), nomatch: false },
};

describe("add-del-test-agree", () => {
  for (const [name, t] of Object.entries(TYPES)) {
    it(name, () => {
      const op = fc.record({ del: fc.boolean(), e: t.elem, nomatch: t.nomatch ? fc.boolean() : fc.constant(false) });
      fc.assert(
        fc.property(fc.array(op, { maxLength: 30 }), (ops) => {
          const host = ipsetHost();
          sh(host, `ipset create s ${t.create}`);
          // element text -> stored as nomatch?
          const model = new Map<string, boolean>();
          for (const o of ops) {
            if (o.del) {
              sh(host, `ipset -exist del s ${o.e}`);
              model.delete(o.e);
            } else {
              sh(host, `ipset -exist add s ${o.e}${o.nomatch ? " nomatch" : ""}`);
              model.set(o.e, o.nomatch);
            }
          }
          for (const o of ops) {
            const inSet = model.get(o.e) === false;
            expect(sh(host, `ipset test s ${o.e}`)).toMatch(inSet ? /^Warning: \S+ is in set s\.\n$/ : /^\S+ is NOT in set s\.\n$/);
          }
          const entries = Number(/Number of entries: (\d+)/.exec(sh(host, "ipset list -t s"))![1]);
          expect(entries).toBe(model.size);
        }),
        { seed: 777, numRuns: 40 },
      );
    });
  }
});

function restoreInto(host: Host, text: string): void {
  host.exec("ipset restore", "host", text);
}

describe("save-restore-save-identity", () => {
  for (const [name, t] of Object.entries(TYPES)) {
    it(name, () => {
      const ext = fc.constantFrom("", " counters", " comment", " counters comment", " timeout 600");
      const entry = fc.record({ e: t.elem, nomatch: t.nomatch ? fc.boolean() : fc.constant(false), packets: fc.integer({ min: 0, max: 99 }), comment: fc.constantFrom("a", "two words", "x,y") });
      fc.assert(
        fc.property(ext, fc.array(entry, { maxLength: 20 }), (flags, entries) => {
          const host = ipsetHost();
          sh(host, `ipset create s ${t.create}${flags}`, "ipset create L list:set", "ipset add L s");
          for (const x of entries) {
            let line = `ipset -exist add s ${x.e}${x.nomatch ? " nomatch" : ""}`;
            if (flags.includes("counters")) line += ` packets ${x.packets} bytes ${x.packets * 60}`;
            if (flags.includes("comment")) line += ` comment "${x.comment}"`;
            sh(host, line);
          }
          const first = sh(host, "ipset save");
          const other = ipsetHost();
          restoreInto(other, first);
          expect(sh(other, "ipset save")).toBe(first);
          expect(sh(other, "ipset list")).toBe(sh(host, "ipset list"));
        }),
        { seed: 777, numRuns: 30 },
      );
    });
  }
});
