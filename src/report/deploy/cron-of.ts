// A schedule as the five-field cron expression Kubernetes and systemd need.
// `every` intervals that divide the hour or the day evenly have one; the
// others (and seconds-level cron) cannot be expressed there, and say so.

import { parseDuration } from "../../domain/duration.ts";
import { LifeboatError } from "../../errors.ts";
import type { ScheduleSpec } from "../../plan/schedule.ts";

export function fiveFieldCron(name: string, spec: ScheduleSpec): string {
  if (spec.cron !== undefined) {
    const fields = spec.cron.trim().split(/\s+/);
    if (fields.length === 5) return fields.join(" ");
    throw unsupported(
      name,
      `cron "${spec.cron}" has ${fields.length} fields; Kubernetes and systemd take 5 (no seconds)`,
    );
  }
  const seconds = parseDuration(spec.every ?? "");
  const minutes = seconds / 60;
  if (Number.isInteger(minutes) && minutes >= 1 && minutes < 60 && 60 % minutes === 0)
    return `*/${minutes} * * * *`;
  const hours = seconds / 3600;
  if (Number.isInteger(hours) && hours >= 1 && hours < 24 && 24 % hours === 0) return `0 */${hours} * * *`;
  if (seconds === 86_400) return "0 0 * * *";
  throw unsupported(
    name,
    `every: ${spec.every} is not an interval cron can express (one that divides an hour or a day)`,
  );
}

function unsupported(name: string, why: string): LifeboatError {
  return new LifeboatError("BAD_ARGUMENT", `schedule ${name}: ${why}`, {
    details: { schedule: name },
    hint: "Give the schedule a five-field cron expression (or an every: that divides an hour or a day) to deploy it this way; `lifeboat schedule run` runs any.",
  });
}

/** systemd's OnCalendar= for a five-field cron expression, in the schedule's time zone. */
export function onCalendar(cron: string, timezone: string | undefined): string {
  const [minute, hour, day, month, weekday] = cron.split(" ") as [string, string, string, string, string];
  // cron's */N steps from the field's first value: 0 for minutes and hours, 1 for days and months.
  const field = (value: string, first: string) =>
    value === "*"
      ? "*"
      : value
          .replace(/^\*\/(\d+)$/, `${first}/$1`)
          .replace(/^(\d+)-(\d+)\/(\d+)$/, "$1..$2/$3")
          .replace(/^(\d+)-(\d+)$/, "$1..$2");
  const weekdays = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
  const days =
    weekday === "*"
      ? ""
      : `${weekday
          .split(",")
          .map((part) =>
            part
              .split("-")
              .map((n) => weekdays[Number(n) % 7] ?? n)
              .join(".."),
          )
          .join(",")} `;
  const pad = (value: string) => (/^\d$/.test(value) ? `0${value}` : value);
  return `${days}*-${field(month, "01")}-${field(day, "01")} ${pad(field(hour, "00"))}:${pad(field(minute, "00"))}:00${timezone ? ` ${timezone}` : " UTC"}`;
}
