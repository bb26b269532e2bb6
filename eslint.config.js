// Lint rules, including the layer boundaries from ARCHITECTURE.md ("Layers"):
// each folder of src/ may import only from the tiers listed before its own,
// never from a later tier or from a peer in its own tier. Every folder of src/
// must appear here (a test in test/docs.test.ts checks it), so a new folder
// cannot slip past the rules.
import js from "@eslint/js";
import tseslint from "typescript-eslint";
import globals from "globals";

export const layers = [
  ["domain"], // plus src/errors.ts and src/version.ts: types and the error table, no I/O
  // runtime/ (process runner, logger, redaction) knows no config, and config/ registers the
  // secrets it reads with runtime/'s redaction: so runtime/ comes first.
  ["runtime"],
  ["config"],
  ["storage", "engines"],
  ["repository"],
  ["plan"],
  ["operations"],
  ["drill", "scenario", "schedule"],
  ["report", "notify", "runbook"],
  ["demo"],
  // The HTTP face is started by the CLI (`lifeboat serve`), which hands it what to serve.
  ["server"],
  ["cli"],
];

const forbid = (folders, why) => ({
  patterns: folders.map((folder) => ({
    group: [`**/${folder}/**`, `../${folder}/*`, `../../${folder}/*`],
    message: `${why} must not import ${folder}/ (see ARCHITECTURE.md, "Layers").`,
  })),
});

const layerRules = layers.flatMap((tier, index) =>
  tier.map((folder) => ({
    files: [`src/${folder}/**/*.ts`],
    ignores: ["**/*.test.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        forbid([...tier.filter((peer) => peer !== folder), ...layers.slice(index + 1).flat()], `${folder}/`),
      ],
    },
  })),
);

export default tseslint.config(
  { ignores: ["node_modules/", ".tools/", "bench/out/", "tmp/", "dist/"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/consistent-type-imports": "error",
    },
  },
  {
    files: ["src/errors.ts", "src/version.ts"],
    rules: { "no-restricted-imports": ["error", forbid(layers.flat(), "src/errors.ts")] },
  },
  ...layerRules,
);
