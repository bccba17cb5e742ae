// Outcome classification of what real clients saw, on outputs captured on a real kernel.
import { describe, expect, it } from "vitest";
import { classifyPing, outcomeOfErrno, parseAnswer, plainAddress, answerBody } from "../../src/realkernel/agent/classify.mjs";
import { capture } from "./fixture.ts";

function ping(name: string) {
  const c = capture(name);
  return classifyPing(c.exit, c.stdout, c.stderr);
}

describe("ping outcomes from real captures", () => {
  it("a reply is reply", () => {
    expect(ping("04a_all_up__netns_dustin__ping_c_1_w_1_10.0.0.21.txt")).toEqual({ outcome: "reply", error: "" });
  });
  it("ICMP host unreachable after ARP gave up is unreachable", () => {
    expect(ping("04b_no_such_neighbor__host__ping_c_1_w_5_10.0.0.93.txt").outcome).toBe("unreachable");
  });
  it("ARP still trying when -W runs out is timeout", () => {
    expect(ping("04b_no_such_neighbor__host__ping_c_1_w_1_10.0.0.94.txt").outcome).toBe("timeout");
  });
  it("no route at all (connect: Network is unreachable, exit 2) is unreachable", () => {
    expect(ping("04c_unroutable__host__ping_c_1_w_1_10.1.2.3.txt")).toEqual({ outcome: "unreachable", error: "Network is unreachable" });
  });
  it("ICMP net unreachable from the router is unreachable", () => {
    expect(ping("04c_unroutable__netns_dustin__ping_c_1_w_1_10.1.2.3.txt")).toEqual({ outcome: "unreachable", error: "Destination Net Unreachable" });
  });
  it("a rate-limited router (no ICMP back) is timeout", () => {
    expect(ping("04c_unroutable__netns_dustin__ping_c_1_w_1_10.1.2.5.txt").outcome).toBe("timeout");
  });
});

describe("socket errors", () => {
  it("maps errno to the outcome vocabulary", () => {
    expect(outcomeOfErrno("ECONNREFUSED")).toEqual({ outcome: "refused", error: "Connection refused" });
    expect(outcomeOfErrno("ECONNRESET").outcome).toBe("refused");
    expect(outcomeOfErrno("ENETUNREACH")).toEqual({ outcome: "unreachable", error: "Network is unreachable" });
    expect(outcomeOfErrno("EHOSTUNREACH")).toEqual({ outcome: "unreachable", error: "No route to host" });
    expect(outcomeOfErrno("ETIMEDOUT").outcome).toBe("timeout");
  });
});

describe("server answers", () => {
  it("reads the server and client address from an HTTP response or a bare line", () => {
    const body = answerBody("netns_dustin", "10.0.0.21");
    expect(parseAnswer(`HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n${body}`)).toEqual({ server: "netns_dustin", client_ip: "10.0.0.21" });
    expect(parseAnswer(body + "\n")).toEqual({ server: "netns_dustin", client_ip: "10.0.0.21" });
    expect(parseAnswer("HTTP/1.0 200 OK\r\n\r\n<html>")).toBeNull();
    expect(parseAnswer("")).toBeNull();
  });
  it("shows IPv4-mapped addresses as IPv4", () => {
    expect(plainAddress("::ffff:10.0.0.1")).toBe("10.0.0.1");
    expect(plainAddress("10.0.0.1")).toBe("10.0.0.1");
  });
});
