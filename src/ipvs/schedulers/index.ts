// The scheduler registry: `ipvsadm -s NAME` -> scheduler (register_ip_vs_scheduler()).
// Adding a scheduler: one new file beside this one and one line here.
import type { Scheduler } from "../types.ts";
import { dh } from "./dh.ts";
import { fo } from "./fo.ts";
import { lblc } from "./lblc.ts";
import { lblcr } from "./lblcr.ts";
import { lc } from "./lc.ts";
import { mh } from "./mh.ts";
import { nq } from "./nq.ts";
import { ovf } from "./ovf.ts";
import { rr } from "./rr.ts";
import { sed } from "./sed.ts";
import { sh } from "./sh.ts";
import { wlc } from "./wlc.ts";
import { wrr } from "./wrr.ts";

export const SCHEDULERS: ReadonlyMap<string, Scheduler> = new Map(
  [rr, wrr, lc, wlc, sh, sed, nq, dh, mh, lblc, lblcr, fo, ovf].map((s) => [s.name, s]),
);
