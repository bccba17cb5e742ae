// The match extensions iptables can load with -m (and -p's implicit ones).
import type { MatchExt } from "../ext.ts";
import { icmpMatch, tcpMatch, udpMatch } from "./proto.ts";
import { addrtypeMatch, commentMatch, markMatch, multiportMatch, physdevMatch, statisticMatch } from "./basic.ts";
import { conntrackMatch, stateMatch } from "./ct.ts";
import { setMatch } from "./set.ts";
import { limitMatch } from "./limit.ts";

export const MATCHES = new Map<string, MatchExt>(
  [tcpMatch, udpMatch, icmpMatch, commentMatch, markMatch, multiportMatch, addrtypeMatch, statisticMatch, physdevMatch, conntrackMatch, stateMatch, setMatch, limitMatch].map((m) => [m.name, m]),
);
