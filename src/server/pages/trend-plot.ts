// An RTO or RPO trend as inline SVG: one point per drill over drill time,
// coloured by status (and shaped, so it reads without colour), with the
// objective as a dashed horizontal line when one is declared.

import { formatSeconds } from "../../domain/duration.ts";
import { html, type Html } from "./html.ts";

export interface PlotPoint {
  readonly at: string;
  readonly seconds: number | null;
  readonly status: string;
  readonly report: string;
}

const WIDTH = 640;
const HEIGHT = 220;
const LEFT = 70;
const RIGHT = 16;
const TOP = 16;
const BOTTOM = 36;

export function trendPlot(title: string, points: readonly PlotPoint[], objective: number | null): Html {
  const measured = points.filter((point): point is PlotPoint & { seconds: number } => point.seconds !== null);
  if (measured.length === 0) return html`<p class="muted">${title}: no drill measured it yet.</p>`;
  const times = measured.map((point) => Date.parse(point.at));
  const first = Math.min(...times);
  const last = Math.max(...times);
  const top = Math.max(...measured.map((point) => point.seconds), objective ?? 0) * 1.15 || 1;
  const x = (at: number) =>
    LEFT + (last === first ? 0.5 : (at - first) / (last - first)) * (WIDTH - LEFT - RIGHT);
  const y = (seconds: number) => TOP + (1 - seconds / top) * (HEIGHT - TOP - BOTTOM);
  const path = measured
    .map(
      (point, index) => `${index ? "L" : "M"}${x(times[index]!).toFixed(1)},${y(point.seconds).toFixed(1)}`,
    )
    .join(" ");
  const ticks = [0, 0.5, 1].map((fraction) => fraction * top);
  return html`<figure>
    <svg
      role="img"
      aria-label="${title}"
      class="trend"
      viewBox="0 0 ${WIDTH} ${HEIGHT}"
      width="${WIDTH}"
      height="${HEIGHT}"
    >
      ${ticks.map(
        (tick) =>
          html`<text x="${LEFT - 6}" y="${y(tick) + 4}" text-anchor="end" font-size="11"
              >${formatSeconds(tick)}</text
            >
            <line x1="${LEFT}" x2="${WIDTH - RIGHT}" y1="${y(tick)}" y2="${y(tick)}" stroke="#eaeef2" />`,
      )}
      <text x="${LEFT}" y="${HEIGHT - 8}" font-size="11">${new Date(first).toISOString().slice(0, 16)}</text>
      <text x="${WIDTH - RIGHT}" y="${HEIGHT - 8}" font-size="11" text-anchor="end">
        ${new Date(last).toISOString().slice(0, 16)}
      </text>
      ${
        objective === null
          ? ""
          : html`<line
                class="objective"
                x1="${LEFT}"
                x2="${WIDTH - RIGHT}"
                y1="${y(objective)}"
                y2="${y(objective)}"
                stroke="#cf222e"
                stroke-dasharray="6 4"
              />
              <text
                x="${WIDTH - RIGHT}"
                y="${y(objective) - 4}"
                font-size="11"
                text-anchor="end"
                fill="#cf222e"
                >objective ${formatSeconds(objective)}</text
              >`
      }
      <path d="${path}" fill="none" stroke="#0969da" stroke-width="1.5" />
      ${measured.map((point, index) => {
        const cx = x(times[index]!).toFixed(1);
        const cy = y(point.seconds).toFixed(1);
        const label = `${point.at}: ${formatSeconds(point.seconds)} (${point.status})`;
        return point.status === "passed"
          ? html`<circle
              class="point"
              data-status="${point.status}"
              cx="${cx}"
              cy="${cy}"
              r="4.5"
              fill="#1a7f37"
              ><title>${label}</title></circle
            >`
          : html`<rect
              class="point"
              data-status="${point.status}"
              x="${Number(cx) - 4.5}"
              y="${Number(cy) - 4.5}"
              width="9"
              height="9"
              fill="#cf222e"
              ><title>${label}</title></rect
            >`;
      })}
    </svg>
    <figcaption>
      ${title} per drill (circles passed, squares did
      not)${objective === null ? "; no objective declared" : ""}
    </figcaption>
  </figure>`;
}
