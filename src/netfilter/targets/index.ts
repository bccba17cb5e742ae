// Extension targets iptables can load with -j (ACCEPT, DROP, RETURN and chains are built in).
import type { TargetExt } from "../ext.ts";
import { ctTarget, logTarget, markTarget, notrackTarget, rejectTarget, setTarget } from "./simple.ts";
import { dnatTarget, masqueradeTarget, redirectTarget, snatTarget } from "./nat.ts";

export const TARGETS = new Map<string, TargetExt>(
  [markTarget, logTarget, ctTarget, notrackTarget, rejectTarget, setTarget, dnatTarget, snatTarget, masqueradeTarget, redirectTarget].map((t) => [t.name, t]),
);
