// `pktpath gen kube-proxy`: a generated kube-proxy node, as a scenario.
import { writeFileSync } from "node:fs";
import type { Command } from "commander";
import { generateKubeProxy, type KubeProxyMode } from "../../gen/kubeproxy.ts";
import { examples, type CliCommand, type Ctx } from "../context.ts";

interface GenOpts {
  mode: string;
  services: string;
  endpoints: string;
  nodeports?: boolean;
  output?: string;
  quiet?: boolean;
}

const whole = (name: string, v: string): number => {
  if (!/^\d+$/.test(v)) throw new Error(`${name}: a whole number`);
  return Number(v);
};

export const genCommand: CliCommand = {
  name: "gen",
  register(program: Command, ctx: Ctx) {
    const gen = program.command("gen").summary("generate scenarios (a kube-proxy node)").description("Generates a scenario.");
    examples(gen, ["pktpath gen kube-proxy --mode ipvs --services 100 --endpoints 10 --nodeports -o node.yaml"]);
    const kp = gen
      .command("kube-proxy")
      .summary("a node programmed as kube-proxy programs it (iptables, IPVS or nftables mode)")
      .description(
        "Writes a scenario of one kube-proxy node: the node is the root namespace; a client pod " +
          "(10.244.255.2) and up to four pod namespaces hold the endpoints. Service i has ClusterIP " +
          "10.96.0.1+i:80; endpoints listen on 8080. The commands are the ones kube-proxy issues.",
      )
      .requiredOption("--mode <mode>", "iptables, ipvs or nftables")
      .requiredOption("--services <n>", "number of services (1 to 1000000)")
      .requiredOption("--endpoints <m>", "endpoints per service (0 to 1000)")
      .option("--nodeports", "give every service a NodePort too")
      .option("-o, --output <file>", "write the scenario to FILE instead of stdout")
      .option("-q, --quiet", "no progress on stderr");
    examples(kp, [
      "pktpath gen kube-proxy --mode iptables --services 10 --endpoints 3",
      "pktpath gen kube-proxy --mode ipvs --services 10000 --endpoints 10 --nodeports -o node.yaml && pktpath run node.yaml",
    ]);
    kp.action((o: GenOpts) => {
      const progress = ctx.progress(o.quiet);
      try {
        const services = whole("--services", o.services);
        const endpoints = whole("--endpoints", o.endpoints);
        if (services * Math.max(endpoints, 1) >= 10_000) progress.update(`gen: ${services} services x ${endpoints} endpoints (${o.mode})...`);
        const node = generateKubeProxy({ mode: o.mode as KubeProxyMode, services, endpoints, nodePorts: o.nodeports === true });
        progress.update(`gen: writing the scenario...`);
        const yaml = node.yaml;
        progress.clear();
        if (o.output) writeFileSync(o.output, yaml);
        else ctx.io.out(yaml);
        ctx.code = 0;
      } catch (e) {
        progress.clear();
        ctx.io.err(`pktpath gen kube-proxy: ${(e as Error).message}\n(add --help for usage)\n`);
        ctx.code = 2;
      }
    });
  },
};
