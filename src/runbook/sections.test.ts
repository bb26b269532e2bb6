import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { readSection } from "./sections.ts";

const runbook = `# Runbook

## Staging restore

Prose.

<!-- DR-CHECK: cli=lifeboat command=snapshots source=app-db -->
\`\`\`bash run
lifeboat snapshots app-db
\`\`\`

Shown, never run:

\`\`\`bash
lifeboat restore app-db --to "$RESTORE_TARGET" --clean
\`\`\`

### A step inside the section

1. In a list:

   \`\`\`sh run
   lifeboat restore app-db --to "$RESTORE_TARGET"
   \`\`\`

## Restore uploads (files)

\`\`\`bash run
lifeboat restore uploads --to "$RESTORE_TARGET"
\`\`\`
`;

describe("runbook sections", () => {
  it("takes the opted-in blocks under the heading, down to the next heading of its level", () => {
    const section = readSection(runbook, "staging restore", "RUNBOOK.md");
    assert.equal(section.title, "Staging restore");
    assert.equal(section.line, 3);
    assert.deepEqual(
      section.blocks.map((block) => [block.line, block.lang, block.script]),
      [
        [8, "bash", "lifeboat snapshots app-db"],
        [22, "sh", 'lifeboat restore app-db --to "$RESTORE_TARGET"'],
      ],
    );
    assert.equal(section.skipped, 1);
    assert.deepEqual(section.sources, ["app-db"]);
  });

  it("finds a heading by its start when it goes on in parentheses", () => {
    const section = readSection(runbook, "Restore uploads", "RUNBOOK.md");
    assert.equal(section.blocks.length, 1);
    assert.deepEqual(section.sources, []);
  });

  it("names the headings there are when the section is not found", () => {
    assert.throws(
      () => readSection(runbook, "Failover", "RUNBOOK.md"),
      /RUNBOOK\.md has no section "Failover"; its headings: Runbook; Staging restore; A step inside the section; Restore uploads \(files\)/,
    );
  });

  it("refuses a runnable block that is not a shell block", () => {
    const python = "## S\n\n```python run\nprint(1)\n```\n";
    assert.throws(() => readSection(python, "S", "R.md"), /R\.md:3: a runnable block must be a shell block/);
  });
});
