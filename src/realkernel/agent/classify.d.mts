// Types of classify.mjs (plain JS, run inside the namespaces).
export interface Classified {
  outcome: string;
  error: string;
}
export interface Answer {
  server: string;
  client_ip: string | null;
}
export function outcomeOfErrno(code: string): Classified;
export function answerBody(server: string, clientIp: string | null): string;
export function plainAddress(addr: string | null | undefined): string | null;
export function parseAnswer(text: string): Answer | null;
export function classifyPing(status: number | null, stdout: string, stderr: string): Classified;
