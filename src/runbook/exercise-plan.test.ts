import assert from "node:assert/strict";
import { test } from "node:test";
import { scenarioKinds } from "../config/exercise-schema.ts";
import { renderBriefing } from "./exercise-briefing.ts";
import {
  defaultSettings,
  exerciseServices,
  parsePlanDate,
  planExercise,
  quarterOf,
  quarterWindow,
  variantIndex,
  type ExerciseService,
} from "./exercise-plan.ts";

const services: ExerciseService[] = [
  {
    source: "app-db",
    engine: "postgres",
    group: null,
    rto: "15m",
    rpo: "5m",
    pointInTime: true,
    partialRestore: ["tables"],
  },
  {
    source: "uploads",
    engine: "files",
    group: null,
    rto: "1h",
    rpo: null,
    pointInTime: false,
    partialRestore: ["paths"],
  },
];

test("a date's quarter: months 1-3 are Q1, ..., 10-12 are Q4, with the quarter's first and last day", () => {
  assert.deepEqual(
    Array.from({ length: 12 }, (_, index) => quarterOf(index + 1)),
    [1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4],
  );
  assert.deepEqual(quarterWindow(2024, 1), { from: "2024-01-01", to: "2024-03-31" });
  assert.deepEqual(quarterWindow(2024, 4), { from: "2024-10-01", to: "2024-12-31" });
  assert.equal(planExercise("2024-03-31", defaultSettings, services).quarter, 1);
  assert.equal(planExercise("2024-04-01", defaultSettings, services).label, "2024-Q2");
});

test("only calendar dates written YYYY-MM-DD are dates", () => {
  assert.deepEqual(parsePlanDate("2024-02-29"), { year: 2024, month: 2, day: 29 });
  for (const bad of ["2023-02-29", "2024-13-01", "2024-7-1", "01/07/2024", "2024-07-01T00:00Z", ""])
    assert.equal(parsePlanDate(bad), undefined, bad);
  assert.throws(() => planExercise("tomorrow", defaultSettings, services), RangeError);
});

test("the default rotation is seed 002's table: one kind per quarter, all four in a year", () => {
  const kinds = ["2024-02-10", "2024-05-10", "2024-08-10", "2024-11-10"].map(
    (date) => planExercise(date, defaultSettings, services).kind,
  );
  assert.deepEqual(kinds, [...scenarioKinds]);
  const rotated = planExercise(
    "2024-08-10",
    {
      ...defaultSettings,
      rotation: { ...defaultSettings.rotation, q3: "regional-outage" },
    },
    services,
  );
  assert.equal(rotated.kind, "regional-outage");
});

test("the plan is deterministic: the same date gives the same plan; variants come from a hash", () => {
  const first = planExercise("2024-07-01", defaultSettings, services);
  assert.deepEqual(planExercise("2024-09-30", defaultSettings, services).services, first.services);
  assert.equal(renderBriefing(first), renderBriefing(planExercise("2024-07-01", defaultSettings, services)));
  // Fixed values: a change of the hash would silently reshuffle every team's calendar.
  assert.equal(variantIndex(2024, 3, "app-db", 3), 2);
  assert.equal(variantIndex(2025, 3, "app-db", 3), 0);
  assert.equal(variantIndex(2024, 1, "uploads", 1000), 746);
  assert.equal(variantIndex(2024, 3, "anything", 1), 0);
  const appDb = first.services[0]!;
  assert.equal(appDb.variants, 3, "postgres with PITR: whole restore, tables, recovery to a moment");
  // Over the years a service meets more than one variant of the same kind.
  const seen = new Set(
    [2024, 2025, 2026, 2027, 2028, 2029].map(
      (year) => planExercise(`${year}-07-01`, defaultSettings, services).services[0]!.variant,
    ),
  );
  assert.ok(seen.size > 1, [...seen].join(", "));
});

test("steps name the real commands: PITR uses --target-time, every variant ends with the drill", () => {
  const allSteps = [2024, 2025, 2026, 2027, 2028, 2029, 2030, 2031].flatMap((year) =>
    planExercise(`${year}-07-01`, defaultSettings, services).services.flatMap((service) => service.steps),
  );
  assert.ok(allSteps.some((step) => step.startsWith("lifeboat restore app-db --target-time ")));
  for (const date of ["2024-01-01", "2024-04-01", "2024-07-01", "2024-10-01"])
    for (const service of planExercise(date, defaultSettings, services).services)
      assert.ok(service.steps.some((step) => step.startsWith(`lifeboat drill ${service.source} `)));
});

test("scenario overrides replace the built-in text; {source} names each service", () => {
  const plan = planExercise(
    "2024-07-01",
    {
      ...defaultSettings,
      roles: { facilitator: "Dana" },
      scenarios: {
        "data-corruption": {
          title: "Bad migration",
          injects: [{ at: "0m", say: "Orders show zero totals." }],
          steps: ["lifeboat drill {source}"],
        },
      },
    },
    services,
  );
  assert.equal(plan.title, "Bad migration");
  assert.deepEqual(plan.injects, [{ at: "0m", say: "Orders show zero totals." }]);
  assert.deepEqual(plan.services[1]!.steps, ["lifeboat drill uploads"]);
  assert.match(plan.description, /faulty deployment/, "what is not overridden stays built in");
  assert.match(renderBriefing(plan), /\| facilitator \| Dana \|/);
  const named = planExercise(
    "2024-01-01",
    { ...defaultSettings, roles: { operator: "Dana O'Neil", reviewer: "kim" } },
    services,
  );
  assert.ok(
    named.services[0]!.steps.includes(
      "lifeboat drill app-db --operator 'Dana O'\\''Neil' --reviewer kim   # the measured proof, kept in the repository",
    ),
    named.services[0]!.steps.join("\n"),
  );
});

test("services: every source by default, else the named sources and the groups' members", () => {
  const config = {
    sources: {
      a: { engine: "sqlite" },
      b: { engine: "files", objectives: { rto: "1h" } },
      c: { engine: "redis" },
    },
    groups: { platform: { sources: ["c", "a"] } },
  };
  const none = () => ({ pointInTime: false, partialRestore: [] });
  assert.deepEqual(
    exerciseServices(config, undefined, none).map((service) => service.source),
    ["a", "b", "c"],
  );
  const chosen = exerciseServices(config, { sources: ["b"], groups: ["platform"] }, none);
  assert.deepEqual(
    chosen.map((service) => [service.source, service.group, service.rto]),
    [
      ["b", null, "1h"],
      ["c", "platform", null],
      ["a", "platform", null],
    ],
  );
});

test("scenario drills named after the quarter's kind are offered to run it for real", () => {
  const declared = ["primary-failover", "primary-failover-cache", "data-corruption", "failover-primary"];
  const q1 = planExercise("2024-02-01", defaultSettings, services, declared);
  assert.deepEqual(q1.scenarioRuns, [
    "lifeboat scenario run primary-failover",
    "lifeboat scenario run primary-failover-cache",
  ]);
  assert.match(
    renderBriefing(q1),
    /## Run it for real\n[\s\S]*```sh\nlifeboat scenario run primary-failover\n/,
  );
  const q2 = planExercise("2024-05-01", defaultSettings, services, declared);
  assert.deepEqual(q2.scenarioRuns, []);
  assert.doesNotMatch(renderBriefing(q2), /Run it for real/);
});
