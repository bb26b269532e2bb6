// The quarterly exercise planner (seed 004's tabletop scheduler), pure: for a
// date, its quarter; for the quarter, the scenario kind of the rotation; for
// each service taking part, that scenario's steps. Every service exercises
// the quarter's kind (the whole team rehearses one incident, as seed 002's
// table has it); where a kind has several variants that apply to a service,
// a hash of year, quarter and source name picks one, so the plan is the same
// on every run and machine, and a service's variant changes from year to
// year. docs/exercises.md describes the choice.

import { createHash } from "node:crypto";
import {
  defaultRotation,
  type InjectConfig,
  type ScenarioKind,
  type ScenarioOverride,
} from "../config/exercise-schema.ts";
import { builtInScenarios, type ExerciseService } from "./exercise-scenarios.ts";

export type { ExerciseService } from "./exercise-scenarios.ts";

export const EXERCISE_PLAN_SCHEMA = "lifeboat.exercise-plan/v1";

export type Quarter = 1 | 2 | 3 | 4;

/** The parts of `exercises:` the planner reads (defaults applied). */
export interface ExerciseSettings {
  readonly rotation: Readonly<Record<"q1" | "q2" | "q3" | "q4", ScenarioKind>>;
  readonly roles: Readonly<Record<string, string>>;
  readonly scenarios: Readonly<Partial<Record<ScenarioKind, ScenarioOverride | undefined>>>;
}

export const defaultSettings: ExerciseSettings = { rotation: defaultRotation, roles: {}, scenarios: {} };

export interface PlannedService {
  readonly source: string;
  readonly engine: string;
  readonly group: string | null;
  readonly objectives: { readonly rto: string | null; readonly rpo: string | null };
  /** The variant of the scenario this service follows, and how many applied. */
  readonly variant: string;
  readonly variants: number;
  readonly steps: readonly string[];
}

export interface ExercisePlan {
  readonly schema: typeof EXERCISE_PLAN_SCHEMA;
  /** The date planned for, YYYY-MM-DD. */
  readonly date: string;
  readonly year: number;
  readonly quarter: Quarter;
  /** e.g. 2024-Q3. */
  readonly label: string;
  /** The quarter's first and last day. */
  readonly window: { readonly from: string; readonly to: string };
  readonly kind: ScenarioKind;
  readonly title: string;
  readonly description: string;
  readonly services: readonly PlannedService[];
  readonly injects: readonly InjectConfig[];
  readonly measure: readonly string[];
  readonly roles: Readonly<Record<string, string>>;
  /**
   * Scenario drills of lifeboat.yaml for this quarter's kind (named after it:
   * `primary-failover`, `primary-failover-db`): the exercise can be run for
   * real with these commands, measuring RTO and lost writes.
   */
  readonly scenarioRuns: readonly string[];
}

/** A calendar date written YYYY-MM-DD, or undefined (2024-02-30 is not one). */
export function parsePlanDate(text: string): { year: number; month: number; day: number } | undefined {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (!match) return undefined;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const date = new Date(Date.UTC(year, month - 1, day));
  if (date.getUTCFullYear() !== year || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day)
    return undefined;
  return { year, month, day };
}

export function quarterOf(month: number): Quarter {
  return (Math.floor((month - 1) / 3) + 1) as Quarter;
}

const isoDay = (date: Date) => date.toISOString().slice(0, 10);

export function quarterWindow(year: number, quarter: Quarter): { from: string; to: string } {
  const from = new Date(Date.UTC(year, (quarter - 1) * 3, 1));
  const to = new Date(Date.UTC(year, quarter * 3, 0)); // day 0 of the next quarter's month: the last day
  return { from: isoDay(from), to: isoDay(to) };
}

/** Stable across runs, machines and Node versions: the first 32 bits of a SHA-256. */
export function variantIndex(year: number, quarter: Quarter, source: string, count: number): number {
  if (count <= 1) return 0;
  const digest = createHash("sha256").update(`${year}-Q${quarter}/${source}`).digest();
  return digest.readUInt32BE(0) % count;
}

/** The plan for `date` (YYYY-MM-DD); throws RangeError on anything else (the CLI checks first). */
export function planExercise(
  date: string,
  settings: ExerciseSettings,
  services: readonly ExerciseService[],
  declaredScenarios: readonly string[] = [],
): ExercisePlan {
  const parsed = parsePlanDate(date);
  if (!parsed) throw new RangeError(`not a YYYY-MM-DD date: ${date}`);
  const { year } = parsed;
  const quarter = quarterOf(parsed.month);
  const kind = settings.rotation[`q${quarter}`];
  const builtIn = builtInScenarios[kind];
  const override = settings.scenarios[kind] ?? {};
  return {
    schema: EXERCISE_PLAN_SCHEMA,
    date,
    year,
    quarter,
    label: `${year}-Q${quarter}`,
    window: quarterWindow(year, quarter),
    kind,
    title: override.title ?? builtIn.title,
    description: override.description ?? builtIn.description,
    services: services.map((service) => {
      const variants = builtIn.variants(service);
      const chosen = variants[variantIndex(year, quarter, service.source, variants.length)]!;
      return {
        source: service.source,
        engine: service.engine,
        group: service.group,
        objectives: { rto: service.rto, rpo: service.rpo },
        variant: override.steps ? "steps from lifeboat.yaml" : chosen.name,
        variants: override.steps ? 1 : variants.length,
        steps: (override.steps
          ? override.steps.map((step) => step.replaceAll("{source}", service.source))
          : chosen.steps
        ).map((step) => withPeople(step, settings.roles)),
      };
    }),
    injects: override.injects ?? builtIn.injects,
    measure: override.measure ?? builtIn.measure,
    roles: settings.roles,
    scenarioRuns: declaredScenarios
      .filter((name) => name === kind || name.startsWith(`${kind}-`))
      .map((name) => `lifeboat scenario run ${name}`),
  };
}

/** The roles' people in the drill commands: `--operator <OPERATOR>` becomes `--operator Sam`. */
function withPeople(step: string, roles: Readonly<Record<string, string>>): string {
  const quoted = (name: string) => (/^[\w.@-]+$/.test(name) ? name : `'${name.replaceAll("'", `'\\''`)}'`);
  let result = step;
  if (roles["operator"]) result = result.replaceAll("<OPERATOR>", quoted(roles["operator"]));
  if (roles["reviewer"]) result = result.replaceAll("<REVIEWER>", quoted(roles["reviewer"]));
  return result;
}

/** One line for a notification: the quarter, the scenario and who takes part. */
export function planSummary(plan: ExercisePlan): string {
  const names = plan.services.map((service) => service.source);
  return `${plan.label} (${plan.window.from} to ${plan.window.to}): ${plan.title.toLowerCase()} exercise for ${names.length ? names.join(", ") : "no service"}.`;
}

/** The briefing's title. */
export function planTitle(plan: ExercisePlan): string {
  return `DR exercise ${plan.label}: ${plan.title}`;
}

interface DeclaredSource {
  readonly engine: string;
  readonly objectives?: { readonly rto?: string | undefined; readonly rpo?: string | undefined } | undefined;
}

/**
 * The services taking part, in a stable order: exercises.sources as listed,
 * then each of exercises.groups' members (a source named twice takes part
 * once, with its group); neither given means every source, in file order.
 * `capabilities` tells what the source's engine can do.
 */
export function exerciseServices<S extends DeclaredSource>(
  config: {
    readonly sources: Readonly<Record<string, S>>;
    readonly groups: Readonly<Record<string, { readonly sources: readonly string[] }>>;
  },
  exercises: { readonly sources?: readonly string[]; readonly groups?: readonly string[] } | undefined,
  capabilities: (source: S) => { pointInTime: boolean; partialRestore: readonly string[] },
): ExerciseService[] {
  const chosen = new Map<string, string | null>();
  const everySource = !exercises?.sources && !exercises?.groups;
  for (const name of everySource ? Object.keys(config.sources) : (exercises?.sources ?? []))
    chosen.set(name, null);
  for (const group of exercises?.groups ?? [])
    for (const member of config.groups[group]?.sources ?? []) chosen.set(member, group);
  return [...chosen].flatMap(([name, group]) => {
    const source = config.sources[name];
    if (!source) return [];
    return [
      {
        source: name,
        engine: source.engine,
        group,
        rto: source.objectives?.rto ?? null,
        rpo: source.objectives?.rpo ?? null,
        ...capabilities(source),
      },
    ];
  });
}
