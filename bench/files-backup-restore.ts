// Files engine backup and restore, side by side in one run: `tar | zstd`
// (the runbooks' kind of script, no dedup, no encryption), restic (the
// model: encrypted, deduplicated; 0.14 has no sparse restore) and `lifeboat backup` / `lifeboat restore`.
// With --baseline REV the same Lifeboat commands also run from a git worktree
// at REV, to compare the current files engine with an earlier one.
//
// The tree: 100 files of 2 MiB random bytes, 4,000 small text files and one
// 256 MiB sparse file holding 3 MiB of data. Each round backs up into fresh
// repositories and restores into fresh directories; the order of the
// contenders rotates per round. Medians and ratios against `tar | zstd`.
//
// Run: node bench/files-backup-restore.ts [--rounds 3] [--baseline 7218b8e]
// Writes bench/out/files-results.md (and run log bench/out/files-run.log).

import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, open, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { measure, type Measurement } from "./support/measure.ts";

const { values } = parseArgs({
  options: { rounds: { type: "string", default: "3" }, baseline: { type: "string" } },
});
const rounds = Number(values.rounds);
const root = new URL("..", import.meta.url).pathname;
const outDir = join(root, "bench", "out");
await mkdir(outDir, { recursive: true });
const logFile = join(outDir, "files-run.log");
await writeFile(logFile, "");
const work = await mkdtemp(join(tmpdir(), "lifeboat-files-bench-"));
const tree = join(work, "tree");

async function makeTree(): Promise<void> {
  await mkdir(join(tree, "blobs"), { recursive: true });
  for (let i = 0; i < 100; i++) await writeFile(join(tree, "blobs", `blob-${i}.bin`), randomBytes(2 << 20));
  for (let d = 0; d < 40; d++) {
    await mkdir(join(tree, "docs", `d${d}`), { recursive: true });
    for (let f = 0; f < 100; f++) {
      const text = `invoice ${d}-${f}\n`.repeat(200 + ((d * 100 + f) % 100));
      await writeFile(join(tree, "docs", `d${d}`, `f${f}.txt`), text);
    }
  }
  const sparse = await open(join(tree, "disk.img"), "w");
  for (const offset of [0, 100 << 20, (256 << 20) - (1 << 20)])
    await sparse.write(randomBytes(1 << 20), 0, 1 << 20, offset);
  await sparse.truncate(256 << 20);
  await sparse.close();
}

/** A Lifeboat checkout to run: this one, or a worktree at --baseline with this one's node_modules. */
async function checkout(rev: string | undefined): Promise<string> {
  if (!rev) return root;
  const dir = join(work, `baseline-${rev}`);
  execFileSync("git", ["-C", root, "worktree", "add", "--detach", dir, rev], { stdio: "ignore" });
  await symlink(join(root, "node_modules"), join(dir, "node_modules"));
  return dir;
}

interface Contender {
  readonly name: string;
  /** Shell snippets; $REPO and $OUT are fresh per round. */
  readonly init: string;
  readonly backup: string;
  readonly restore: string;
}

function lifeboat(name: string, dir: string): Contender {
  const cli = `node ${join(dir, "src", "cli", "main.ts")} -c "$REPO.yaml" --no-progress`;
  const config = `printf 'repository: { url: "file://%s", password_env: LIFEBOAT_PASSWORD }\\nsources:\\n  tree: { engine: files, path: "${tree}" }\\n' "$REPO" > "$REPO.yaml"`;
  return {
    name,
    init: `${config}\n${cli} init >/dev/null`,
    backup: `${cli} backup tree >/dev/null`,
    restore: `${cli} restore tree --to "$OUT" >/dev/null`,
  };
}

const contenders: Contender[] = [
  {
    name: "tar + zstd",
    init: `mkdir -p "$REPO"`,
    backup: `tar --sparse -cf - -C "${tree}" . | zstd -q -T0 -o "$REPO/tree.tar.zst"`,
    restore: `mkdir -p "$OUT" && zstd -q -dc "$REPO/tree.tar.zst" | tar -xf - -C "$OUT"`,
  },
  {
    name: "restic",
    init: `restic -q -r "$REPO" init`,
    backup: `restic -q -r "$REPO" backup "${tree}"`,
    restore: `restic -q -r "$REPO" restore latest --target "$OUT"`,
  },
  lifeboat("lifeboat", root),
];
if (values.baseline)
  contenders.push(lifeboat(`lifeboat @${values.baseline}`, await checkout(values.baseline)));

const env = { LIFEBOAT_PASSWORD: "bench", RESTIC_PASSWORD: "bench", LIFEBOAT_TMPDIR: work };
const results = new Map<string, { backup: Measurement[]; restore: Measurement[] }>();
try {
  await makeTree();
  for (let round = 0; round < rounds; round++) {
    const order = contenders.map((_, i) => contenders[(i + round) % contenders.length]!);
    for (const contender of order) {
      const slot = join(work, `r${round}-${contender.name.replace(/\W+/g, "_")}`);
      const vars = `export REPO="${slot}-repo" OUT="${slot}-out"\n`;
      await measure(`${contender.name} init`, vars + contender.init, { workDir: work, logFile, env });
      const backup = await measure(`${contender.name} backup`, vars + contender.backup, {
        workDir: work,
        logFile,
        env,
      });
      const restore = await measure(`${contender.name} restore`, vars + contender.restore, {
        workDir: work,
        logFile,
        env,
      });
      if (!backup.ok || !restore.ok) throw new Error(`${contender.name} failed; see ${logFile}`);
      const entry = results.get(contender.name) ?? { backup: [], restore: [] };
      entry.backup.push(backup);
      entry.restore.push(restore);
      results.set(contender.name, entry);
      execFileSync("rm", ["-rf", `${slot}-repo`, `${slot}-out`, `${slot}-repo.yaml`]);
    }
  }
} finally {
  if (values.baseline)
    execFileSync(
      "git",
      ["-C", root, "worktree", "remove", "--force", join(work, `baseline-${values.baseline}`)],
      { stdio: "ignore" },
    );
  await rm(work, { recursive: true, force: true });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const floor = results.get("tar + zstd")!;
const lines = [
  `# Files backup and restore (${rounds} rounds, medians; ${new Date().toISOString().slice(0, 10)})`,
  "",
  "Tree: 100 × 2 MiB random, 4,000 small text files, one 256 MiB sparse file with 3 MiB of data.",
  "",
  "| contender | backup s | vs tar + zstd | restore s | vs tar + zstd | peak RSS MB (backup / restore) |",
  "|---|---|---|---|---|---|",
];
for (const [name, entry] of results) {
  const b = median(entry.backup.map((m) => m.seconds));
  const r = median(entry.restore.map((m) => m.seconds));
  const rss = `${median(entry.backup.map((m) => m.peakRssMb)).toFixed(0)} / ${median(entry.restore.map((m) => m.peakRssMb)).toFixed(0)}`;
  lines.push(
    `| ${name} | ${b.toFixed(2)} | ${(b / median(floor.backup.map((m) => m.seconds))).toFixed(2)}x | ${r.toFixed(2)} | ${(r / median(floor.restore.map((m) => m.seconds))).toFixed(2)}x | ${rss} |`,
  );
}
const markdown = lines.join("\n") + "\n";
await writeFile(join(outDir, "files-results.md"), markdown);
process.stdout.write(markdown);
