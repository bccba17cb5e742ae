// The registry: the names ipvsadm -s accepts with every scheduler module of Linux 6.12.117
// net/netfilter/ipvs/ built (twos aside, not modelled).
import { describe, expect, it } from "vitest";
import { SCHEDULERS } from "../../../src/ipvs/schedulers/index.ts";

describe("SCHEDULERS", () => {
  it("maps each kernel scheduler name to the scheduler of that name", () => {
    expect([...SCHEDULERS.keys()].sort()).toEqual(["dh", "fo", "lblc", "lblcr", "lc", "mh", "nq", "ovf", "rr", "sed", "sh", "wlc", "wrr"]);
    for (const [name, s] of SCHEDULERS) expect(s.name).toBe(name);
  });
});
