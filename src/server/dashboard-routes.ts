// Which dashboard page a path shows: `/` the overview, `/sources/<name>` one
// source's drill history, `/drills/<report id>` one drill record.

import type { StatusReading } from "./serve.ts";
import { renderDrillPage, renderErrorPage } from "./pages/drill-page.ts";
import { renderOverview } from "./pages/overview.ts";
import { renderSourcePage } from "./pages/source-page.ts";

export interface Page {
  readonly status: number;
  readonly html: string;
}

export function routeDashboard(path: string, reading: StatusReading): Page {
  const at = reading.report.generatedAt;
  if (path === "/" || path === "/index.html") {
    return { status: 200, html: renderOverview(reading.report, reading.runs) };
  }
  const source = /^\/sources\/([^/]+)$/.exec(path);
  if (source) {
    const name = decodeURIComponent(source[1]!);
    if (!reading.report.sources.some((status) => status.source === name))
      return { status: 404, html: renderErrorPage(404, `no source named ${name}`, at) };
    const drills = reading.drills.filter((drill) => drill.source === name);
    return { status: 200, html: renderSourcePage(reading.report, name, drills) };
  }
  const drill = /^\/drills\/([A-Za-z0-9._-]+)$/.exec(path);
  if (drill) {
    const report = reading.drills.find((candidate) => candidate.id === drill[1]);
    return report
      ? { status: 200, html: renderDrillPage(report, at) }
      : { status: 404, html: renderErrorPage(404, `no drill report ${drill[1]}`, at) };
  }
  return { status: 404, html: renderErrorPage(404, `nothing at ${path}`, at) };
}
