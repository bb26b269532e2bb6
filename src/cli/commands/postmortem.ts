// lifeboat postmortem DRILL_ID [--output FILE]: seed 002's post-mortem
// template pre-filled from a drill report kept in the repository. DRILL_ID is
// a report id (as `lifeboat drills` lists them), a unique prefix of one, or
// `latest`. --output overwrites the file, as `exercise plan --output` does.

import { resolve } from "node:path";
import { isDrillReport, type DrillReport } from "../../domain/drill-report.ts";
import { LifeboatError } from "../../errors.ts";
import { postmortemOf, renderPostmortem } from "../../report/postmortem.ts";
import { writeFileWhole } from "../../runtime/write-whole.ts";
import { withRepository, type CommandEnv } from "../session.ts";

export async function postmortemCommand(
  env: CommandEnv,
  id: string,
  flags: { output?: string },
): Promise<void> {
  const stored = await withRepository(env, null, (context) => context.repository.listDrillReports());
  const report = findDrillReport(stored.filter(isDrillReport), id);
  const markdown = renderPostmortem(report);
  const output = flags.output ? resolve(flags.output) : null;
  if (output) await writeFileWhole(output, markdown, { makeParents: true });
  env.output.result({ ...postmortemOf(report), markdown, output }, () =>
    output ? `wrote the post-mortem of drill ${report.id} (${report.source}) to ${output}` : markdown,
  );
}

/** The report of this id, unique id prefix or `latest`; BAD_ARGUMENT saying what exists otherwise. */
export function findDrillReport(reports: readonly DrillReport[], id: string): DrillReport {
  const ordered = [...reports].sort(
    (a, b) => a.startedAt.localeCompare(b.startedAt) || a.id.localeCompare(b.id),
  );
  const found =
    id === "latest"
      ? ordered.slice(-1)
      : ordered.filter((report) => report.id === id).length === 1
        ? ordered.filter((report) => report.id === id)
        : ordered.filter((report) => report.id.startsWith(id));
  if (found.length === 1) return found[0]!;
  if (found.length > 1) {
    throw new LifeboatError("BAD_ARGUMENT", `drill id prefix ${id} matches ${found.length} drill reports`, {
      details: { matches: found.map((report) => report.id) },
      hint: `Give more of the id: ${found
        .slice(0, 5)
        .map((report) => report.id)
        .join(", ")}${found.length > 5 ? ", ..." : ""}.`,
    });
  }
  throw new LifeboatError(
    "BAD_ARGUMENT",
    ordered.length === 0
      ? `no drill report ${id}: the repository holds no drill reports yet`
      : `no drill report ${id} in the repository`,
    {
      details: { id, newest: ordered.slice(-3).map((report) => report.id) },
      hint:
        ordered.length === 0
          ? "Run `lifeboat drill SOURCE` first; its report id is in the drill record."
          : "`lifeboat drills` lists the drill reports with their ids; a unique prefix or `latest` will do.",
    },
  );
}
