// -m limit (xt_limit.c): a token bucket refilled on the virtual clock.
import { type MatchExt, ParseError } from "../ext.ts";

const UNITS: [string, number][] = [
  ["sec", 1],
  ["min", 60],
  ["hour", 3600],
  ["day", 86400],
];

function parseRate(text: string): [number, string] {
  const m = /^(\d+)(?:\/(s|sec|second|m|min|minute|h|hour|d|day))?$/.exec(text);
  if (!m || Number(m[1]) === 0) throw new ParseError(`bad rate "${text}"'`);
  const u = (m[2] ?? "sec")[0];
  const unit = u === "s" ? "sec" : u === "m" ? "min" : u === "h" ? "hour" : "day";
  return [Number(m[1]), unit];
}

export const limitMatch: MatchExt = {
  name: "limit",
  options: { limit: { arg: true }, "limit-burst": { arg: true } },
  parse(spec, opt, value) {
    if (opt === "limit") {
      const [n, unit] = parseRate(value!);
      spec.opts["rate"] = n;
      spec.opts["unit"] = unit;
    } else {
      if (!/^\d+$/.test(value!) || Number(value) === 0) throw new ParseError(`bad --limit-burst \`${value}'`);
      spec.opts["burst"] = Number(value);
    }
  },
  save(spec) {
    const rate = spec.opts["rate"] ?? 3;
    const unit = spec.opts["unit"] ?? "hour";
    const burst = Number(spec.opts["burst"] ?? 5);
    return `--limit ${rate}/${unit}${burst !== 5 ? ` --limit-burst ${burst}` : ""}`;
  },
  list: (spec) => `limit: avg ${spec.opts["rate"] ?? 3}/${spec.opts["unit"] ?? "hour"} burst ${spec.opts["burst"] ?? 5}`,
  compile(spec, ctx) {
    const per = UNITS.find(([u]) => u === (spec.opts["unit"] ?? "hour"))![1] * 1000;
    const interval = per / Number(spec.opts["rate"] ?? 3);
    const burst = Number(spec.opts["burst"] ?? 5);
    const st = { credit: burst * interval, last: ctx.rt.now() };
    // limit_mt(): credit grows with time up to the burst; each match costs one interval.
    return () => {
      const now = ctx.rt.now();
      st.credit = Math.min(burst * interval, st.credit + (now - st.last));
      st.last = now;
      if (st.credit >= interval) {
        st.credit -= interval;
        return true;
      }
      return false;
    };
  },
};
