// bystrcmp() of lib/session.c: how `ipset list -s` orders members, comparing the printed
// text piece by piece as hexadecimal numbers, names where there are none.

/** strtol(s, &end, 16) from offset i: [value, end]. */
function strtol16(s: string, i: number): [number, number] {
  let j = i;
  while (j < s.length && " \t\n\v\f\r".includes(s[j]!)) j++;
  let sign = 1;
  if (s[j] === "+" || s[j] === "-") {
    if (s[j] === "-") sign = -1;
    j++;
  }
  if (s[j] === "0" && (s[j + 1] === "x" || s[j + 1] === "X") && /[0-9a-fA-F]/.test(s[j + 2] ?? "")) j += 2;
  const start = j;
  while (j < s.length && /[0-9a-fA-F]/.test(s[j]!)) j++;
  if (j === start) return [0, i];
  return [sign * parseInt(s.slice(start, j), 16), j];
}

function cspn(s: string, i: number): number {
  let n = 0;
  while (i + n < s.length && s[i + n] !== ":" && s[i + n] !== ",") n++;
  return n;
}

function strcmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function bystrcmp(a: string, b: string): number {
  let x = 0;
  let y = 0;
  let neg = 1;
  while (x < a.length && y < b.length) {
    const [n1, e1] = strtol16(a, x);
    const [n2, e2] = strtol16(b, y);
    if (e1 === x || e2 === y) {
      const l1 = cspn(a, x);
      const l2 = cspn(b, y);
      if (l1 !== 0 || l2 !== 0) {
        if (l1 === l2) {
          const s = strcmp(a.slice(x, x + l1), b.slice(y, y + l1));
          if (s === 0) {
            x += l1 + 1;
            y += l1 + 1;
            neg = 1;
            continue;
          }
          return s;
        }
        return l1 < l2 ? -1 : 1;
      }
      return strcmp(a.slice(x), b.slice(y));
    }
    if (n1 !== n2) return neg * (n1 - n2);
    const s1 = a[e1] ?? "";
    const s2 = b[e2] ?? "";
    if (s1 === "/" || s2 === "/") {
      if (s1 === s2) neg = s1 === "/" ? -1 : 1;
      else if (s1 === "/") return 1;
      else return -1;
    }
    x = e1 + 1;
    y = e2 + 1;
    if (a[x] === ":" || b[y] === ":") {
      if (a[x] === b[y]) {
        x++;
        y++;
      } else if (a[x] === ":") return -1;
      else return 1;
    }
  }
  return x < a.length ? 1 : y < b.length ? -1 : 0;
}
