// The core layer: puts the core tools (ip, bridge, sysctl, modprobe, probes, servers)
// on a host. It is listed first in src/layers.ts and is a host's default.
import type { ToolRegistry } from "../tool/tool.ts";
import { coreTools } from "./index.ts";

export const coreLayer = {
  name: "core",
  install(host: ToolRegistry): void {
    for (const [name, tool] of coreTools) host.registerTool(name, tool);
  },
};
