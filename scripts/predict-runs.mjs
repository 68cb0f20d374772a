// Predicts saved `livemig qemu --json` runs again with a profile, as `livemig qemu --predict`
// does at run time (src/qemu/predict.ts: each variant at the write rate its guest achieved),
// and prints one line per variant: measured and predicted total-time, downtime and the mode's
// fields. For profiles fitted after the runs (docs/validation.md, the modes on real QEMU).
// Usage: npm run build && node scripts/predict-runs.mjs PROFILE RUNS.json...
import { readFileSync } from "node:fs";
import { achievedRate, predict } from "../dist/src/qemu/predict.js";
import { readProfile } from "../dist/src/qemu/profile.js";

const [profileFile, ...files] = process.argv.slice(2);
if (!profileFile || files.length === 0) {
  console.error("livemig: usage: node scripts/predict-runs.mjs PROFILE RUNS.json...: expected a profile and at least one runs file");
  process.exit(2);
}
const profile = readProfile(profileFile);
const pct = (m, p) => (m > 0 ? `${p >= m ? "+" : ""}${(((p - m) / m) * 100).toFixed(0)} %` : "-");
const fields = (r) => {
  const ram = r.ram ?? {};
  const out = [`transferred ${(ram.transferred / 2 ** 20).toFixed(0)} MiB`];
  if (ram["multifd-bytes"] !== undefined) out.push(`multifd-bytes ${(ram["multifd-bytes"] / 2 ** 20).toFixed(0)} MiB`);
  if (ram["postcopy-requests"] !== undefined) out.push(`postcopy-requests ${ram["postcopy-requests"]}`);
  if (r["postcopy-blocktime"] !== undefined) out.push(`blocktime ${r["postcopy-blocktime"]} ms`);
  const x = r["xbzrle-cache"];
  if (x) out.push(`xbzrle pages ${x.pages}, cache-miss ${x["cache-miss"]}, overflow ${x.overflow}`);
  return out.join("; ");
};
for (const file of files) {
  const runs = JSON.parse(readFileSync(file, "utf8")).runs;
  const variants = [...new Set(runs.map((r) => r.variant))];
  for (const v of variants) {
    const mine = runs.filter((r) => r.variant === v);
    const rate = achievedRate(mine);
    const p = await predict(mine[0].scenario, rate, profile);
    const measured = mine.map((r) => `${r.result.status} ${r.result["total-time"]} ms (${pct(r.result["total-time"], p["total-time"])}), downtime ${r.result.downtime ?? "-"} ms; ${fields(r.result)}`);
    console.log(`${file} ${v} (writes/s ${rate}): predicted ${p.status} ${Math.round(p["total-time"])} ms, downtime ${p.downtime !== undefined ? p.downtime.toFixed(1) : "-"} ms; ${fields(p)}`);
    for (const m of measured) console.log(`    measured ${m}`);
  }
}
