// The tools of the core: what a user types at the emulated host's shell.
import type { Tool } from "../tool/tool.ts";
import { ipTool } from "./ip/index.ts";
import { bridgeTool } from "./bridge.ts";
import { sysctlTool } from "./sysctl.ts";
import { modprobeTool } from "./modprobe.ts";
import { curlTool, ncTool, pingTool, pythonTool, sleepTool, wgetTool } from "./probes.ts";

export const coreTools: [string, Tool][] = [
  ["ip", ipTool],
  ["bridge", bridgeTool],
  ["sysctl", sysctlTool],
  ["modprobe", modprobeTool],
  ["curl", curlTool],
  ["wget", wgetTool],
  ["nc", ncTool],
  ["netcat", ncTool],
  ["ping", pingTool],
  ["python3", pythonTool],
  ["python", pythonTool],
  ["sleep", sleepTool],
];
