// An RTO or RPO trend as inline SVG, generated here (no charting library, no
// script): one point per drill over drill time, its status told by shape as
// well as colour, the declared objective as a dashed horizontal line, and
// axes labelled with durations. A drill that measured nothing still gets its
// point, hollow on the time axis, so a run of failing drills is visible
// instead of leaving a silent gap.

import { formatSeconds } from "../../domain/duration.ts";
import { html, type Html } from "./html.ts";

export interface TrendPoint {
  /** When the drill started (ISO-8601). */
  readonly at: string;
  /** The achieved value in seconds; null when the drill did not get far enough to measure it. */
  readonly seconds: number | null;
  readonly status: string;
  /** The drill record's page. */
  readonly href: string;
}

export interface TrendPlot {
  /** "RTO" or "RPO": used in the labels and as the plot's class. */
  readonly measure: "RTO" | "RPO";
  readonly points: readonly TrendPoint[];
  /** The declared objective in seconds; null draws no objective line. */
  readonly objective: number | null;
}

const WIDTH = 760;
const HEIGHT = 290;
const LEFT = 84;
const RIGHT = 24;
const TOP = 24;
const BOTTOM = 64;

interface Shape {
  readonly colour: string;
  readonly word: string;
  draw(x: number, y: number, fill: string): Html;
}

const circle = (x: number, y: number, colour: string, fill: string) =>
  html`<circle cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" r="5.5" fill="${fill}" stroke="${colour}" stroke-width="2" />`;
const polygon = (corners: readonly [number, number][], colour: string, fill: string) =>
  html`<polygon points="${corners.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(" ")}" fill="${fill}" stroke="${colour}" stroke-width="2" />`;

/** Shapes per drill status: colour and form, so the plot reads in greyscale too. */
export const statusShapes: Record<string, Shape> = {
  passed: { colour: "#1a7f37", word: "passed (circle)", draw: (x, y, f) => circle(x, y, "#1a7f37", f) },
  objective_missed: {
    colour: "#9a6700",
    word: "objective missed (triangle)",
    draw: (x, y, f) =>
      polygon(
        [
          [x, y - 7],
          [x + 6.5, y + 5],
          [x - 6.5, y + 5],
        ],
        "#9a6700",
        f,
      ),
  },
  verification_failed: {
    colour: "#cf222e",
    word: "verification failed (square)",
    draw: (x, y, f) =>
      polygon(
        [
          [x - 5, y - 5],
          [x + 5, y - 5],
          [x + 5, y + 5],
          [x - 5, y + 5],
        ],
        "#cf222e",
        f,
      ),
  },
  error: {
    colour: "#82071e",
    word: "error (diamond)",
    draw: (x, y, f) =>
      polygon(
        [
          [x, y - 7],
          [x + 7, y],
          [x, y + 7],
          [x - 7, y],
        ],
        "#82071e",
        f,
      ),
  },
};

const shapeOf = (status: string): Shape => statusShapes[status] ?? statusShapes.error!;

const NICE_STEPS = [
  0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400,
  172800, 604800,
];

/** Gridline ticks from 0 to at least `max`, on round durations, at most about five of them. */
export function durationTicks(max: number): number[] {
  const top = max > 0 ? max * 1.05 : 1;
  const step = NICE_STEPS.find((candidate) => top / candidate <= 5) ?? Math.ceil(top / 5 / 604800) * 604800;
  const count = Math.ceil(top / step);
  return Array.from({ length: count + 1 }, (_, index) => Number((index * step).toFixed(3)));
}

function timeLabel(ms: number, x: number, anchor: string): Html {
  const iso = new Date(ms).toISOString();
  return html`<text x="${x.toFixed(1)}" y="${HEIGHT - BOTTOM + 18}" text-anchor="${anchor}" font-size="12" fill="#57606a"
    ><tspan x="${x.toFixed(1)}">${iso.slice(0, 10)}</tspan><tspan x="${x.toFixed(1)}" dy="14">${iso.slice(11, 16)}</tspan></text
  >`;
}

export function trendPlot(plot: TrendPlot): Html {
  const { measure, objective } = plot;
  const points = [...plot.points].sort((a, b) => a.at.localeCompare(b.at));
  const times = points.map((point) => Date.parse(point.at));
  const first = Math.min(...times);
  const last = Math.max(...times);
  const values = points.flatMap((point) => (point.seconds === null ? [] : [point.seconds]));
  const ticks = durationTicks(Math.max(...values, objective ?? 0, 0));
  const top = ticks[ticks.length - 1]!;
  const plotWidth = WIDTH - LEFT - RIGHT;
  const x = (ms: number) => LEFT + (last === first ? 0.5 : (ms - first) / (last - first)) * plotWidth;
  const y = (seconds: number) => TOP + (1 - seconds / top) * (HEIGHT - TOP - BOTTOM);
  const baseline = y(0);
  const measured = points.flatMap((point, index) =>
    point.seconds === null ? [] : [`${x(times[index]!).toFixed(1)},${y(point.seconds).toFixed(1)}`],
  );
  const timeTicks = last === first ? [first] : [first, first + (last - first) / 2, last];
  const statuses = [...new Set(points.map((point) => point.status))];
  const unmeasured = points.some((point) => point.seconds === null);
  const title = `Achieved ${measure} per drill`;
  return html`<figure class="trend" data-measure="${measure}">
    <svg
      class="trend-plot ${measure.toLowerCase()}"
      role="img"
      aria-label="${title}"
      viewBox="0 0 ${WIDTH} ${HEIGHT}"
      width="${WIDTH}"
      height="${HEIGHT}"
      xmlns="http://www.w3.org/2000/svg"
    >
      <title>${title}</title>
      ${ticks.map(
        (tick) => html`<line x1="${LEFT}" x2="${WIDTH - RIGHT}" y1="${y(tick).toFixed(1)}" y2="${y(tick).toFixed(1)}" stroke="#eaeef2" />
          <text class="y-tick" x="${LEFT - 8}" y="${(y(tick) + 4).toFixed(1)}" text-anchor="end" font-size="12" fill="#57606a">${formatSeconds(tick)}</text>`,
      )}
      <line x1="${LEFT}" x2="${LEFT}" y1="${TOP}" y2="${baseline}" stroke="#8c959f" />
      <line x1="${LEFT}" x2="${WIDTH - RIGHT}" y1="${baseline}" y2="${baseline}" stroke="#8c959f" />
      <text class="axis-label" transform="translate(16 ${(TOP + baseline) / 2}) rotate(-90)" text-anchor="middle" font-size="12" fill="#1f2328">achieved ${measure} (duration)</text>
      ${timeTicks.map((ms, index) =>
        timeLabel(ms, x(ms), timeTicks.length === 1 ? "middle" : index === 0 ? "start" : index === timeTicks.length - 1 ? "end" : "middle"),
      )}
      <text class="axis-label" x="${LEFT + plotWidth / 2}" y="${HEIGHT - 6}" text-anchor="middle" font-size="12" fill="#1f2328">drill start time (UTC)</text>
      ${objective === null
        ? ""
        : html`<line class="objective" x1="${LEFT}" x2="${WIDTH - RIGHT}" y1="${y(objective).toFixed(1)}" y2="${y(objective).toFixed(1)}" stroke="#8250df" stroke-width="2" stroke-dasharray="8 5" />
            <text class="objective-label" x="${WIDTH - RIGHT - 4}" y="${(y(objective) - 6).toFixed(1)}" text-anchor="end" font-size="12" fill="#8250df">${measure} objective ${formatSeconds(objective)}</text>`}
      ${measured.length > 1
        ? html`<polyline points="${measured.join(" ")}" fill="none" stroke="#0969da" stroke-width="1.5" opacity="0.6" />`
        : ""}
      ${points.map((point, index) => {
        const shape = shapeOf(point.status);
        const px = x(times[index]!);
        const label =
          point.seconds === null
            ? `${point.at}: ${measure} not measured (${point.status})`
            : `${point.at}: ${measure} ${formatSeconds(point.seconds)} (${point.status})`;
        return html`<a class="point" href="${point.href}" data-status="${point.status}" data-measured="${point.seconds !== null}"
          ><title>${label}</title>${shape.draw(px, point.seconds === null ? baseline : y(point.seconds), point.seconds === null ? "#fff" : shape.colour)}</a
        >`;
      })}
    </svg>
    <figcaption>
      ${title}: ${points.length} ${points.length === 1 ? "drill" : "drills"};
      ${objective === null
        ? html`no ${measure} objective declared, so no objective line.`
        : html`the dashed line is the ${measure} objective, ${formatSeconds(objective)}.`}
    </figcaption>
    <p class="legend">
      ${statuses.map((status) => {
        const shape = shapeOf(status);
        return html`<span
          ><svg width="16" height="16" viewBox="0 0 16 16" aria-hidden="true">${shape.draw(8, 8, shape.colour)}</svg>
          ${shape.word}</span
        >`;
      })}
      ${unmeasured ? html`<span>hollow on the time axis: not measured</span>` : ""}
    </p>
  </figure>`;
}
