// What the kernel says back: an errno's strerror() text, or its extack message; and
// messages that echo huge input cut to a printable size.
import { describe, expect, it } from "vitest";
import { KernelError, MAX_ECHO_WORD, MAX_MESSAGE, shortenMessage, shortenWord, strerror } from "../../src/config/errors.ts";

describe("KernelError", () => {
  it("reads as the extack message when the kernel gives one, else as strerror(errno) (glibc's words)", () => {
    expect(new KernelError("EEXIST").message).toBe("File exists");
    expect(new KernelError("ESRCH").message).toBe("No such process");
    expect(new KernelError("ENETUNREACH", "Nexthop has invalid gateway.").message).toBe("Nexthop has invalid gateway.");
    expect(strerror("EADDRNOTAVAIL")).toBe("Cannot assign requested address");
    expect(strerror("EOPNOTSUPP")).toBe("Operation not supported");
  });
});

describe("messages that echo input", () => {
  it("leave ordinary words alone", () => {
    expect(shortenMessage('Cannot find device "eth0"')).toBe('Cannot find device "eth0"');
    expect(shortenWord("x".repeat(MAX_ECHO_WORD))).toBe("x".repeat(MAX_ECHO_WORD));
  });

  it("cut a huge word to its start and its size in bytes, keeping the quotes around it", () => {
    const word = "a".repeat(10 * 1024 * 1024);
    const msg = shortenMessage(`Cannot find device "${word}"`);
    expect(msg).toBe(`Cannot find device "${"a".repeat(32)}...(10485760 bytes)"`);
  });

  it("stay under MAX_MESSAGE characters, counting what was left out", () => {
    const msg = shortenMessage("word ".repeat(2000));
    expect(msg.length).toBeLessThan(MAX_MESSAGE + 40);
    expect(msg).toMatch(/\.\.\.\(\d+ more bytes\)$/);
  });
});
