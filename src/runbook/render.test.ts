import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { renderDocument } from "./regions.ts";
import type { RunbookInput, RunbookSource } from "./render-input.ts";
import { renderRunbook } from "./render.ts";

const source = (overrides: Partial<RunbookSource>): RunbookSource => ({
  name: "app-db",
  engine: "postgres",
  location: "postgres://app@db:5432/app",
  objectives: { rto: "15m", rpo: "1h" },
  pitr: false,
  partialRestore: ["tables"],
  restoreFlags: [{ name: "clean", description: "drop and recreate a non-empty target database" }],
  restoreGuarantee: undefined,
  checks: ["`select count(*) > 0 from orders` returns true"],
  targetExample: "a postgres:// URL of another server or database, never the source's",
  ...overrides,
});

const input: RunbookInput = {
  repository: "s3://backups/lifeboat",
  sources: [
    source({ pitr: true }),
    source({
      name: "uploads",
      engine: "files",
      location: "/srv/uploads",
      objectives: {},
      partialRestore: ["paths"],
      restoreFlags: [],
      checks: [],
    }),
  ],
  groups: [],
  schedules: [
    { name: "nightly", when: "0 2 * * *", timezone: "Europe/Berlin", args: ["backup", "app-db"] },
    { name: "weekly-drill", when: "every 7d", timezone: undefined, args: ["drill"] },
  ],
  alerts: [
    { alert: "LifeboatBackupTooOld", summary: "app-db's newest backup is older than its RPO", for: "5m" },
  ],
  alertsSkipped: ["uploads: no rpo declared, no backup age alert"],
  cronJobs: [],
  configArgument: undefined,
};

describe("runbook render", () => {
  const text = renderDocument(renderRunbook(input).parts);

  it("is the same text every time", () => {
    assert.equal(renderDocument(renderRunbook(input).parts), text);
  });

  it("puts a DR-CHECK marker above every code block", () => {
    const lines = text.split("\n");
    const fences = lines.flatMap((line, index) => (/^```bash/.test(line) ? [index] : []));
    assert.ok(fences.length >= 8, `${fences.length} blocks`);
    for (const index of fences) assert.match(lines[index - 1]!, /^<!-- DR-CHECK: \S+=/, `line ${index + 1}`);
  });

  it("declares objectives and schedules in tables the check reads", () => {
    assert.match(
      text,
      /<!-- DR-CHECK: objectives -->\n\| Source \| Engine \| RTO \| RPO \| Drill interval \|/,
    );
    assert.match(text, /\| app-db \| postgres \| 15m \| 1h \| not declared \|/);
    assert.match(text, /No objectives are declared for: uploads\./);
    assert.match(text, /\| nightly \| 0 2 \* \* \* \(Europe\/Berlin\) \| lifeboat backup app-db \|/);
    assert.match(text, /\| app-db \| postgres \| postgres:\/\/app@db:5432\/app \| nightly \|/);
  });

  it("writes each source's procedure with the commands its engine offers", () => {
    assert.match(text, /## Restore app-db \(postgres\)/);
    assert.match(text, /```bash run\nlifeboat restore app-db --to "\$RESTORE_TARGET" --dry-run\n```/);
    assert.match(text, /--table "\$TABLE"/);
    assert.match(text, /--target-time "\$RECOVERY_TIME" --start --port "\$RESTORE_PORT"/);
    assert.match(text, /- \[ \] `select count\(\*\) > 0 from orders` returns true/);
    assert.match(text, /## Restore uploads \(files\)[\s\S]*--include "\$PATHS"/);
    assert.doesNotMatch(text.slice(text.indexOf("## Restore uploads")), /--target-time/);
  });

  it("leaves escalation to the team, outside every generated region", () => {
    const escalation = text.indexOf("## Escalation and contacts");
    const before = text.slice(0, escalation);
    assert.equal(before.split("<!-- lifeboat:begin").length, before.split("<!-- lifeboat:end").length);
  });
});
