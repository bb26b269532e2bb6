// A group drill: every member of a bundle is drilled at once (the usual
// drill of each: scratch, restore, verify, its own checks), each holds its
// scratch target until all have come this far, then the group's checks run
// with every member's connection details in their environment, then all are
// torn down. The group's RTO ends when the last member is verified and the
// group's checks pass: the moment the whole application is back.

import { memberVariable, type Group } from "../config/group-schema.ts";
import type { Bundle } from "../domain/bundle.ts";
import { parseDuration } from "../domain/duration.ts";
import type { CheckOutcome, DrillReport, DrillStatus } from "../domain/drill-report.ts";
import { evaluateObjective } from "../domain/drill-report.ts";
import { GROUP_DRILL_REPORT_SCHEMA, type GroupDrillReport } from "../domain/group-drill-report.ts";
import type { SourceConfig } from "../engines/config.ts";
import type { ScratchTarget } from "../engines/engine.ts";
import type { OperationContext } from "../operations/context.ts";
import { redactDeep } from "../runtime/redact.ts";
import { commandCheck } from "./checks.ts";
import { drillId, runDrill } from "./run.ts";

export interface GroupDrillRequest {
  readonly group: string;
  readonly definition: Group;
  readonly members: readonly (readonly [string, SourceConfig])[];
  readonly bundle: Bundle;
}

const severity: DrillStatus[] = ["passed", "objective_missed", "verification_failed", "error"];

function worst(statuses: readonly DrillStatus[]): DrillStatus {
  return statuses.reduce<DrillStatus>(
    (acc, status) => (severity.indexOf(status) > severity.indexOf(acc) ? status : acc),
    "passed",
  );
}

export async function runGroupDrill(
  context: OperationContext,
  request: GroupDrillRequest,
): Promise<{ report: GroupDrillReport; members: DrillReport[] }> {
  const startedAt = context.now();
  const id = drillId(startedAt);
  const arrived = new Map<string, { scratch: ScratchTarget; passed: boolean; at: number }>();
  let waiting = request.members.length;
  let everyoneHere: () => void = () => undefined;
  const allHere = new Promise<void>((resolve) => (everyoneHere = resolve));
  const arrive = () => {
    if (--waiting === 0) everyoneHere();
  };
  let release: () => void = () => undefined;
  const released = new Promise<void>((resolve) => (release = resolve));

  const runs = request.members.map(async ([name, source]) => {
    const snapshot = request.bundle.members.find((member) => member.source === name)?.snapshot;
    try {
      return await runDrill(context, {
        sourceName: name,
        source,
        selector: snapshot ?? "latest",
        holdScratch: async (scratch, passed) => {
          arrived.set(name, { scratch, passed, at: context.now().getTime() });
          arrive();
          await released;
        },
      });
    } finally {
      if (!arrived.has(name)) arrive(); // it failed before its scratch was up: nobody waits for it
    }
  });

  await allHere;
  const checks: CheckOutcome[] = [];
  const issues: string[] = [];
  const everyonePassed =
    arrived.size === request.members.length && [...arrived.values()].every((member) => member.passed);
  let verifiedAt: number | undefined;
  if (everyonePassed) {
    const variables: Record<string, string> = {};
    for (const [name, member] of arrived)
      for (const [variable, value] of Object.entries(member.scratch.env))
        variables[memberVariable(name, variable)] = value;
    for (const check of request.definition.checks)
      checks.push(await commandCheck(check.command, parseDuration(check.timeout), variables, context.signal));
    if (checks.every((check) => check.result === "passed")) verifiedAt = context.now().getTime();
  } else {
    const missing = request.members.map(([name]) => name).filter((name) => !arrived.get(name)?.passed);
    issues.push(`the group's checks did not run: ${missing.join(", ")} did not restore and verify`);
  }
  release();
  const reports = await Promise.all(runs);

  const status = worst([
    ...reports.map((report) => report.status),
    ...(checks.some((check) => check.result !== "passed") ? (["verification_failed"] as const) : []),
  ]);
  const rtoAchieved = verifiedAt === undefined ? null : (verifiedAt - startedAt.getTime()) / 1000;
  const oldest = Math.min(...request.bundle.members.map((member) => Date.parse(member.consistentAt)));
  const rto = evaluateObjective(
    request.definition.rto ? parseDuration(request.definition.rto) : null,
    rtoAchieved,
  );
  const rpo = evaluateObjective(null, (startedAt.getTime() - oldest) / 1000);
  const report: GroupDrillReport = {
    schema: GROUP_DRILL_REPORT_SCHEMA,
    id,
    group: request.group,
    bundle: {
      id: request.bundle.id,
      spreadSeconds: request.bundle.spreadSeconds,
      consistentAt: new Date(oldest).toISOString(),
    },
    status: status === "passed" && rto.met === false ? "objective_missed" : status,
    startedAt: startedAt.toISOString(),
    finishedAt: context.now().toISOString(),
    members: reports.map((member) => {
      const here = arrived.get(member.source);
      return {
        source: member.source,
        report: member.id,
        status: member.status,
        snapshot: member.snapshot.id,
        rto: here?.passed ? (here.at - startedAt.getTime()) / 1000 : null,
        phases: member.phases,
      };
    }),
    checks,
    rto,
    rpo,
    issues,
  };
  return { report: redactDeep(report), members: reports };
}
