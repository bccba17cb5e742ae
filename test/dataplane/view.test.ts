// The view follows each accepted change and recomputes only what changed: a hook table
// is rebuilt only when a provider's registrations in that namespace changed, link views
// and the FIB are kept, and computing a view from scratch changes no runtime state.
import { describe, expect, it } from "vitest";
import { Host } from "../../src/host.ts";
import { hostWithLayers, type Layers } from "../../src/layers.ts";
import { buildView } from "../../src/dataplane/view.ts";
import { ToolError } from "../../src/tool/tool.ts";

/** Each test host's IPVS runtime (installLayers hands it back). */
const ipvsRt = new Map<Host, Layers["ipvs"]>();
function node(): Host {
  const { host: h, layers } = hostWithLayers();
  ipvsRt.set(h, layers.ipvs);
  for (const l of ["ip netns add a", "ip link add v0 type veth peer name v1", "ip link set v1 netns a", "ip link set v0 up", "ip addr add 10.0.0.1/24 dev v0", "ip link add kube-ipvs0 type dummy"]) h.exec(l);
  return h;
}

describe("the view follows the snapshot", () => {
  it("keeps a namespace's hook table until a provider's registrations there change", () => {
    const h = node();
    const ns = () => h.dp.view.netns.get("host")!;
    const hooks0 = ns().hooks;
    h.exec("ip addr add 10.96.0.1/32 dev kube-ipvs0");
    expect(ns().hooks).toBe(hooks0);
    h.exec("iptables -A INPUT -j ACCEPT"); // the filter table's hooks: registered
    const hooks1 = ns().hooks;
    expect(hooks1).not.toBe(hooks0);
    h.exec("iptables -A INPUT -s 10.1.0.0/16 -j DROP"); // another rule: the same registrations
    expect(ns().hooks).toBe(hooks1);
    h.exec("ipvsadm -A -t 10.96.0.1:80 -s rr"); // the first virtual service registers IPVS's hooks
    const hooks2 = ns().hooks;
    expect(hooks2).not.toBe(hooks1);
    expect(hooks2.flat().filter((o) => o.name.startsWith("ipvs")).length).toBe(5);
    h.exec("ipvsadm -A -t 10.96.0.2:80 -s rr");
    h.exec("ipvsadm -a -t 10.96.0.2:80 -r 10.0.0.2:80 -m");
    expect(ns().hooks).toBe(hooks2);
    expect(h.dp.view.netns.get("a")!.hooks.flat().length).toBe(0);
    h.exec("ipvsadm -C"); // the last one goes: unregistered
    expect(ns().hooks.flat().some((o) => o.name.startsWith("ipvs"))).toBe(false);
  });

  it("keeps link views, the FIB and other namespaces when one address is added", () => {
    const h = node();
    const view = h.dp.view;
    const host = view.netns.get("host")!;
    const a = view.netns.get("a")!;
    const v0 = host.byName.get("v0")!;
    const fib = host.fib;
    h.exec("ip addr add 10.96.0.9/32 dev kube-ipvs0");
    expect(h.dp.view).toBe(view);
    expect(host.byName.get("v0")).toBe(v0);
    expect(host.fib).toBe(fib);
    expect(view.netns.get("a")).toBe(a);
    expect(host.local.get(0x0a600009)?.name).toBe("kube-ipvs0");
    expect(host.fib.lookup(0x0a600009)?.type).toBe("local");
  });

  it("a failing command and a failing restore file change neither the view nor IPVS's services", () => {
    const h = node();
    h.exec("ipvsadm -A -t 10.96.0.1:80 -s rr");
    const rt = ipvsRt.get(h)!;
    const services = () => [...rt.state("host").services.keys()].join(" ");
    const before = services();
    const view = h.dp.view;
    const config = h.config;
    expect(() => h.exec("ipvsadm -R", "host", "-A -t 10.96.0.2:80 -s rr\n-a -t 10.9.9.9:1 -r 10.0.0.1:80\n")).toThrow(ToolError);
    expect(() => h.exec("ipvsadm -A -t 10.96.0.1:80 -s rr")).toThrow(ToolError);
    expect(h.config).toBe(config);
    expect(h.dp.view.config).toBe(config);
    expect(h.dp.view).toBe(view);
    expect(services()).toBe(before);
  });

  it("building a view from scratch changes no runtime state", () => {
    const h = node();
    h.exec("ipvsadm -A -t 10.96.0.1:80 -s rr");
    h.exec("iptables -t nat -A POSTROUTING -j MASQUERADE");
    const rt = ipvsRt.get(h)!;
    const st = rt.state("host");
    const svc = [...st.services.values()][0]!;
    const ops = h.dp.providers.map((p) => p.hookOps("host", h.config));
    for (let i = 0; i < 3; i++) buildView(h.config, h.dp.providers);
    expect([...st.services.values()][0]).toBe(svc);
    expect(h.dp.providers.map((p) => p.hookOps("host", h.config))).toEqual(ops);
    h.dp.providers.forEach((p, i) => expect(p.hookOps("host", h.config)).toBe(ops[i]));
  });
});
