export * from "./kubeproxy.ts";
export * from "./node.ts";
