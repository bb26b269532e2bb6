// lifeboat drill --group GROUP: drill every member of the group's newest
// bundle at once and run the group's checks across them (drill/group-drill.ts).
// Each member's report is kept like any drill's (history, files, run record,
// notifications); the group's report goes to the reports folder beside them.

import { formatSeconds } from "../../domain/duration.ts";
import { LifeboatError } from "../../errors.ts";
import { runGroupDrill } from "../../drill/group-drill.ts";
import { findBundle } from "../../operations/bundles.ts";
import { recordRun } from "../../operations/run-record.ts";
import { writeGroupReportFiles } from "../../report/files.ts";
import { renderGroupDrillRecord } from "../../report/group-drill-record.ts";
import { selectGroup, withRepository, type CommandEnv } from "../session.ts";
import { exitForStatus, keepDrillEvidence, notifyTargets } from "./drill.ts";

export async function drillGroupCommand(
  env: CommandEnv,
  group: string,
  flags: { snapshot: string },
): Promise<void> {
  const report = await withRepository(env, { kind: "shared", command: "drill" }, async (context, config) => {
    const { group: definition, members } = selectGroup(config, group);
    const bundle = await findBundle(context, group, flags.snapshot);
    const { targets, problems } = notifyTargets(config);
    for (const problem of problems) env.log.warn(problem);
    env.log.info(
      `drilling group ${group} from bundle ${bundle.id} (${members.map(([name]) => name).join(", ")})...`,
    );
    const startedAt = context.now();
    const { report, members: memberReports } = await runGroupDrill(context, {
      group,
      definition,
      members,
      bundle,
    });
    for (const member of memberReports) await keepDrillEvidence(env, context, config, member, targets);
    const paths = await writeGroupReportFiles(config.reports.dir, report);
    await recordRun(context, {
      operation: "drill",
      source: `group:${group}`,
      startedAt,
      snapshot: null,
      drill: { report: report.id, status: report.status },
      ...(report.status === "passed"
        ? {}
        : {
            error: new LifeboatError("VERIFICATION_FAILED", `group drill ${report.status.replace("_", " ")}`),
          }),
    });
    env.log.info(
      `group drill ${group}: ${report.status}, RTO ${report.rto.achieved === null ? "not measured" : formatSeconds(report.rto.achieved)}; record: ${paths.markdown}`,
    );
    return report;
  });
  env.output.result(report, () => renderGroupDrillRecord(report));
  if (report.status !== "passed") {
    throw new LifeboatError("VERIFICATION_FAILED", `group drill ${report.status.replace("_", " ")}`, {
      reported: true,
      exitCode: exitForStatus(report.status),
    });
  }
}
