// `pktpath gen kube-proxy ...`: print (or write) a generated node as a scenario.
import { writeFileSync } from "node:fs";
import { generateKubeProxy, type KubeProxyMode } from "./kubeproxy.ts";

const GEN_USAGE = "usage: pktpath gen kube-proxy --mode iptables|ipvs|nftables --services N --endpoints M [--nodeports] [-o FILE]";

export function genCommand(args: string[], io: { out: (s: string) => void; err: (s: string) => void }): number {
  const [what, ...rest] = args;
  if (what !== "kube-proxy") {
    io.err(`pktpath gen: ${what === undefined ? "what to generate?" : `unknown generator "${what}"`}\n${GEN_USAGE}\n`);
    return 2;
  }
  let mode: string | null = null;
  let services: number | null = null;
  let endpoints: number | null = null;
  let nodePorts = false;
  let outFile: string | null = null;
  const num = (name: string, v: string | undefined): number => {
    if (v === undefined || !/^\d+$/.test(v)) throw new Error(`${name}: a whole number`);
    return Number(v);
  };
  try {
    for (let i = 0; i < rest.length; i++) {
      const a = rest[i]!;
      const eq = a.indexOf("=");
      const [flag, inline] = a.startsWith("--") && eq > 0 ? [a.slice(0, eq), a.slice(eq + 1)] : [a, undefined];
      const val = () => inline ?? rest[++i];
      if (flag === "--mode") mode = val() ?? "";
      else if (flag === "--services") services = num("--services", val());
      else if (flag === "--endpoints") endpoints = num("--endpoints", val());
      else if (flag === "--nodeports") nodePorts = true;
      else if (flag === "-o" || flag === "--output") outFile = val() ?? null;
      else throw new Error(`unknown option "${a}"`);
    }
    if (mode === null || services === null || endpoints === null) throw new Error("--mode, --services and --endpoints are required");
    const node = generateKubeProxy({ mode: mode as KubeProxyMode, services, endpoints, nodePorts });
    if (outFile) writeFileSync(outFile, node.yaml);
    else io.out(node.yaml);
    return 0;
  } catch (e) {
    io.err(`pktpath gen kube-proxy: ${(e as Error).message}\n${GEN_USAGE}\n`);
    return 2;
  }
}
