// Top self-time functions of a V8 .cpuprofile (as written by `node --cpu-prof`),
// to see where a Lifeboat command spends its main-thread time. Time on libuv's
// thread pool (zstd, AES, fs) and in child processes is not in the profile.
//
//   node bench/profile-summary.ts bench/out/profiles/CPU.*.cpuprofile [--top 25]

import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { top: { type: "string", default: "25" } },
});

for (const file of positionals) {
  const profile = JSON.parse(await readFile(file, "utf8")) as Profile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfMicros = new Map<string, number>();
  profile.samples.forEach((id, index) => {
    const frame = byId.get(id)?.callFrame;
    const where = frame?.url ? frame.url.replace(/^.*\/work\/main\//, "") + `:${frame.lineNumber + 1}` : "";
    const key = `${frame?.functionName || "(anonymous)"} ${where}`.trim();
    selfMicros.set(key, (selfMicros.get(key) ?? 0) + (profile.timeDeltas[index] ?? 0));
  });
  const total = (profile.endTime - profile.startTime) / 1e6;
  process.stdout.write(`\n${file}: ${total.toFixed(1)} s profiled\n`);
  const rows = [...selfMicros].sort((a, b) => b[1] - a[1]).slice(0, Number(values.top));
  for (const [name, micros] of rows) {
    process.stdout.write(
      `${(micros / 1e6).toFixed(2).padStart(8)} s  ${((micros / 1e6 / total) * 100).toFixed(1).padStart(5)}%  ${name}\n`,
    );
  }
}
