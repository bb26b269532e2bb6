// `lifeboat runbook render`: the team's DR runbook written from lifeboat.yaml.
// Every generated part is a region (regions.ts) so re-rendering keeps what the
// team wrote around it; every command block carries a DR-CHECK marker, so
// `lifeboat runbook check` proves the rendered file keeps matching the config
// after it is committed. Commands use shell variables ($RESTORE_TARGET,
// $RECOVERY_TIME) for what only the operator knows at 3 a.m.; a runbook drill
// sets $RESTORE_TARGET to a scratch target and runs the blocks as written.
// Pure: the same input renders the same text, byte for byte.

import type { Objectives } from "../config/source-fields.ts";
import type { Region } from "./regions.ts";
import type { RunbookInput, RunbookSchedule, RunbookSource } from "./render-input.ts";

export interface RenderedRunbook {
  /** The regions, in document order. */
  readonly regions: readonly Region[];
  /** A new runbook: regions and the hand-written sections a team fills in once. */
  readonly parts: readonly (Region | { readonly handWritten: string })[];
}

export function renderRunbook(input: RunbookInput): RenderedRunbook {
  const head = region("header", header(input));
  const objectives = region("objectives", objectivesSection(input));
  const backups = region("backups", backupsSection(input));
  const monitoring = region("monitoring", monitoringSection(input));
  const restores = input.sources.map((source) =>
    region(`restore:${source.name}`, restoreSection(input, source)),
  );
  const drills = region("drill-record", drillRecordSection(input));
  const regions = [head, objectives, backups, monitoring, ...restores, drills];
  return {
    regions,
    parts: [
      head,
      { handWritten: escalationSkeleton },
      objectives,
      backups,
      monitoring,
      ...restores,
      drills,
      { handWritten: afterSkeleton },
    ],
  };
}

function region(id: string, lines: readonly string[]): Region {
  return { id, body: lines.join("\n").replace(/\n+$/, "") };
}

/** `lifeboat [-c PATH] ARGS`, with every argument quoted when the shell would split or expand it. */
function lifeboat(input: RunbookInput, ...args: string[]): string {
  const config = input.configArgument === undefined ? [] : ["-c", shellWord(input.configArgument)];
  return ["lifeboat", ...config, ...args].join(" ");
}

function shellWord(word: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  if (/^"\$[A-Z_]+"$/.test(word)) return word; // an operator's variable, already quoted
  return `'${word.replaceAll("'", "'\\''")}'`;
}

/** A code block governed by a DR-CHECK marker. `run` marks it runnable by `drill --runbook`. */
function commandBlock(marker: string, commands: readonly string[], run = false): string[] {
  return [`<!-- DR-CHECK: ${marker} -->`, run ? "```bash run" : "```bash", ...commands, "```", ""];
}

function cell(text: string): string {
  return text.replaceAll("|", "\\|").replaceAll("\n", " ");
}

function table(headings: readonly string[], rows: readonly (readonly string[])[]): string[] {
  return [
    `| ${headings.join(" | ")} |`,
    `| ${headings.map(() => "---").join(" | ")} |`,
    ...rows.map((row) => `| ${row.map(cell).join(" | ")} |`),
    "",
  ];
}

function header(input: RunbookInput): string[] {
  return [
    "# Disaster recovery runbook",
    "",
    "Written by `lifeboat runbook render` from lifeboat.yaml. Text between `lifeboat:begin` and",
    "`lifeboat:end` comments is rewritten on every render; write your own outside them, where it is",
    "kept. `lifeboat runbook check` proves in CI that every command below still matches the",
    "deployed configuration (the `DR-CHECK` comments say what each block is checked against).",
    "",
    `Repository: \`${input.repository}\`. Commands read \`${input.configArgument ?? "lifeboat.yaml"}\`${
      input.configArgument === undefined ? " (or `$LIFEBOAT_CONFIG`)" : ""
    } and need the repository password in the environment the configuration names.`,
    "",
  ];
}

const escalationSkeleton = `## Escalation and contacts

<!-- Yours: lifeboat runbook render never rewrites this section. -->

| Role | Who | How to reach |
| --- | --- | --- |
| Incident commander | _name_ | _phone, chat_ |
| Database owner | _name_ | _phone, chat_ |
| Storage / cloud account owner | _name_ | _phone, chat_ |

Declare an incident when a restore is needed in production, when a drill fails twice in a row, or
when the backup age passes the RPO. Post a status update every 15 minutes: status, actions taken,
next steps, estimated resolution time.`;

const afterSkeleton = `## After an incident

<!-- Yours: lifeboat runbook render never rewrites this section. -->

\`lifeboat postmortem DRILL_ID\` drafts the post-mortem from a drill report. Record here where your
team keeps post-mortems and who reviews them.`;

function objectivesText(objectives: Objectives, key: keyof Objectives): string {
  return objectives[key] ?? "not declared";
}

function objectivesSection(input: RunbookInput): string[] {
  const declared = input.sources.filter((source) => source.objectives.rto || source.objectives.rpo);
  const undeclared = input.sources.filter((source) => !source.objectives.rto && !source.objectives.rpo);
  return [
    "## Recovery objectives",
    "",
    "What each source promises, as declared in lifeboat.yaml (`objectives:`). Drills measure the",
    "achieved RTO and RPO against these.",
    "",
    ...(declared.length > 0
      ? [
          "<!-- DR-CHECK: objectives -->",
          ...table(
            ["Source", "Engine", "RTO", "RPO", "Drill interval"],
            declared.map((source) => [
              source.name,
              source.engine,
              objectivesText(source.objectives, "rto"),
              objectivesText(source.objectives, "rpo"),
              objectivesText(source.objectives, "drill_interval"),
            ]),
          ),
        ]
      : []),
    ...(undeclared.length > 0
      ? [`No objectives are declared for: ${undeclared.map((source) => source.name).join(", ")}.`, ""]
      : []),
  ];
}

function schedulesOf(input: RunbookInput, source: RunbookSource): RunbookSchedule[] {
  const groups = input.groups.filter((group) => group.sources.includes(source.name)).map((g) => g.name);
  return input.schedules.filter((schedule) => {
    const [command, ...rest] = schedule.args;
    if (command !== "backup") return false;
    const named = rest.filter((arg) => !arg.startsWith("--"));
    if (rest[0] === "--group") return groups.includes(rest[1] ?? "");
    return named.length === 0 || named.includes(source.name);
  });
}

function backupsSection(input: RunbookInput): string[] {
  const lines = [
    "## What is backed up, where and when",
    "",
    `Every source goes into one encrypted, deduplicated repository: \`${input.repository}\`.`,
    "",
    ...table(
      ["Source", "Engine", "What", "Backed up by"],
      input.sources.map((source) => {
        const by = schedulesOf(input, source).map((schedule) => schedule.name);
        return [
          source.name,
          source.engine,
          source.location,
          by.length > 0 ? by.join(", ") : "no schedule (run by hand or by another scheduler)",
        ];
      }),
    ),
  ];
  if (input.schedules.length > 0) {
    lines.push(
      "Schedules (`schedules:`; `lifeboat schedule run` runs them, `lifeboat deploy` renders them for",
      "Kubernetes, systemd or CI):",
      "",
      "<!-- DR-CHECK: schedules -->",
      ...table(
        ["Schedule", "When", "Command"],
        input.schedules.map((schedule) => [
          schedule.name,
          schedule.timezone && !schedule.when.startsWith("every")
            ? `${schedule.when} (${schedule.timezone})`
            : schedule.when,
          `lifeboat ${schedule.args.join(" ")}`,
        ]),
      ),
    );
  }
  for (const job of input.cronJobs) {
    lines.push(
      `The CronJob \`${job.name}\` runs${job.entrypoint ? " the image's entrypoint (lifeboat) with" : ""}:`,
      "",
      ...commandBlock(`cronjob=${job.name} manifest=${job.manifest}`, [job.script]),
    );
  }
  return lines;
}

function monitoringSection(input: RunbookInput): string[] {
  const lines = [
    "## Monitoring",
    "",
    "`lifeboat status` says whether every source is recoverable within its objectives (exit 13: stale,",
    "14: failing); `lifeboat serve` exports the same as Prometheus metrics and `/healthz`.",
    "",
    ...commandBlock("cli=lifeboat command=status", [lifeboat(input, "status")], true),
  ];
  if (input.alerts.length > 0) {
    lines.push(
      "Alert rules (`lifeboat alerts`), derived from the objectives above:",
      "",
      ...table(
        ["Alert", "Fires when", "For"],
        input.alerts.map((alert) => [alert.alert, alert.summary, alert.for ?? "at once"]),
      ),
    );
  }
  if (input.alertsSkipped.length > 0) {
    lines.push("Not alerted on, for want of a declared objective:", "");
    for (const skipped of input.alertsSkipped) lines.push(`- ${skipped}`);
    lines.push("");
  }
  return lines;
}

function restoreSection(input: RunbookInput, source: RunbookSource): string[] {
  const name = source.name;
  // source=NAME: the command lines parse against the CLI and name this source (runbook check).
  const check = `source=${name}`;
  const lines = [
    `## Restore ${name} (${source.engine})`,
    "",
    `${name} is ${source.location}. Set \`RESTORE_TARGET\` to where it goes back (${source.targetExample}).`,
    "Lifeboat refuses a target it cannot prove is not the source itself.",
    "",
    "1. Choose the snapshot (the newest is used unless `--snapshot ID` is given):",
    "",
    ...commandBlock(`source=${name}`, [lifeboat(input, "snapshots", name)], true),
    "2. See what the restore will do, without changing anything:",
    "",
    ...commandBlock(
      check,
      [lifeboat(input, "restore", name, "--to", '"$RESTORE_TARGET"', "--dry-run")],
      true,
    ),
    "3. Restore. The snapshot is verified against its fingerprint before it takes the target's place:",
    "",
    ...commandBlock(check, [lifeboat(input, "restore", name, "--to", '"$RESTORE_TARGET"')], true),
  ];
  const replacing = source.restoreFlags.filter((flag) => flag.name === "clean" || flag.name === "force");
  for (const flag of replacing) {
    lines.push(`   A target that is not empty is refused; \`--${flag.name}\` will ${flag.description}.`);
  }
  if (replacing.length > 0) lines.push("");
  if (source.restoreGuarantee) lines.push(`   Without an atomic swap: ${source.restoreGuarantee}.`, "");
  if (source.partialRestore.includes("tables")) {
    lines.push(
      "   Only some tables (with what they need to exist; `lifeboat ls SNAPSHOT` lists them):",
      "",
      ...commandBlock(check, [
        lifeboat(input, "restore", name, "--to", '"$RESTORE_TARGET"', "--table", '"$TABLE"'),
      ]),
    );
  }
  if (source.partialRestore.includes("paths")) {
    lines.push(
      "   Only some files (`lifeboat ls SNAPSHOT PATH` lists them):",
      "",
      ...commandBlock(check, [
        lifeboat(input, "restore", name, "--to", '"$RESTORE_TARGET"', "--include", '"$PATHS"'),
      ]),
    );
  }
  if (source.pitr) {
    lines.push(
      "4. Point-in-time recovery, to just before the damage (`RECOVERY_TIME` with a zone, e.g.",
      "   `2026-01-25 14:30:00+00`; `RESTORE_TARGET` an empty data directory). `--start` starts the",
      "   restored server and waits until it reached the target:",
      "",
      ...commandBlock(check, [
        lifeboat(
          input,
          "restore",
          name,
          "--to",
          '"$RESTORE_TARGET"',
          "--target-time",
          '"$RECOVERY_TIME"',
          "--start",
          "--port",
          '"$RESTORE_PORT"',
        ),
      ]),
    );
  }
  lines.push(`${source.pitr ? 5 : 4}. Validate before sending traffic back:`, "");
  lines.push(`   - [ ] the restore printed \`verified\` (its fingerprint matched the snapshot's)`);
  for (const item of source.checks) lines.push(`   - [ ] ${item}`);
  if (source.objectives.rto) lines.push(`   - [ ] it took less than the RTO (${source.objectives.rto})`);
  lines.push("   - [ ] the application's own health check passes against the restored data", "");
  lines.push(
    "Prove it without an incident: a drill restores the newest snapshot into a scratch target, runs",
    "the checks above and measures RTO and RPO against the objectives:",
    "",
    ...commandBlock(`source=${name}`, [lifeboat(input, "drill", name)]),
  );
  return lines;
}

function drillRecordSection(input: RunbookInput): string[] {
  return [
    "## Drill record",
    "",
    "`lifeboat drills` lists every drill Lifeboat ran, with its report. Record drills run by hand",
    "(and tabletop exercises) here:",
    "",
    ...table(
      [
        "Date",
        "Source",
        "Operator",
        "Reviewer",
        "Snapshot",
        "Achieved RTO",
        "Achieved RPO",
        "Result",
        "Follow-ups",
      ],
      input.sources.map((source) => ["", source.name, "", "", "", "", "", "", ""]),
    ),
  ];
}
