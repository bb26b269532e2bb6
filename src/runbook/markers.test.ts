import assert from "node:assert/strict";
import { test } from "node:test";
import { findMarkers } from "./markers.ts";

const runbook = `# Runbook

<!-- DR-CHECK: cronjob=backup manifest=k8s.yaml -->
\`\`\`bash
pg_dumpall | gzip
\`\`\`

Some prose, then an unmarked block:

\`\`\`bash
kubectl create job --from=cronjob/backup manual
\`\`\`

## Objectives

<!-- DR-CHECK: objectives -->
Declared per source:

| Source | RTO | RPO |
|:--|--:|---|
| app-db | \`15m\` | 24h |
| a\\|b | 1h | |

## Orphan

<!-- DR-CHECK: module=ops.x callable=main -->

## Broken

<!-- DR-CHECK cli=x -->
<!-- DR-CHECK: source=app-db -->
    lifeboat backup app-db
`;

test("markers with their lines and the node each governs", () => {
  const markers = findMarkers(runbook);
  assert.deepEqual(
    markers.map((marker) => [marker.line, marker.text]),
    [
      [3, "cronjob=backup manifest=k8s.yaml"],
      [16, "objectives"],
      [26, "module=ops.x callable=main"],
      [30, "DR-CHECK cli=x"],
      [31, "source=app-db"],
    ],
  );
  const [cronjob, objectives, orphan, broken, source] = markers;
  assert.deepEqual(cronjob!.code, {
    kind: "code",
    line: 4,
    firstLine: 5,
    lang: "bash",
    value: "pg_dumpall | gzip",
  });
  assert.equal(objectives!.code, undefined);
  assert.deepEqual(objectives!.table, {
    kind: "table",
    line: 19,
    header: ["Source", "RTO", "RPO"],
    rows: [
      { line: 21, cells: ["app-db", "15m", "24h"] },
      { line: 22, cells: ["a|b", "1h", ""] },
    ],
  });
  // The heading ends what a marker governs: the orphan does not take a later block.
  assert.equal(orphan!.code, undefined);
  assert.deepEqual(broken!.syntax, { ok: false, problem: "DR-CHECK must be followed by a colon" });
  // An indented code block counts; its first line is its own line.
  assert.deepEqual(source!.code, {
    kind: "code",
    line: 32,
    firstLine: 32,
    lang: null,
    value: "lifeboat backup app-db",
  });
});

test("the next marker ends what a marker governs", () => {
  const markers = findMarkers(
    "<!-- DR-CHECK: source=a -->\n<!-- DR-CHECK: source=b -->\n```\nlifeboat backup b\n```\n",
  );
  assert.equal(markers[0]!.code, undefined);
  assert.equal(markers[1]!.code?.value, "lifeboat backup b");
});

test("an unclosed marker comment is malformed, not a crash", () => {
  const [marker] = findMarkers("<!-- DR-CHECK: source=a\n\n```\nx\n```\n");
  assert.deepEqual(marker!.syntax, { ok: false, problem: "the comment has no closing -->" });
});

test("comments that are not markers are ignored", () => {
  assert.deepEqual(findMarkers("<!-- a note -->\n<!-- DR-CHECKS are below -->\n"), []);
});
