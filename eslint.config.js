// Lint rules, including the layer boundaries from ARCHITECTURE.md:
// storage/ and engines/ never import repository/, plan/, drill/, cli/ or server/.
import js from "@eslint/js";
import tseslint from "typescript-eslint";
import globals from "globals";

const upperLayers = ["repository", "plan", "drill", "schedule", "report", "cli", "server"];
const forbid = (layers) => ({
  patterns: layers.map((layer) => ({
    group: [`**/${layer}/**`, `../${layer}/*`, `../../${layer}/*`],
    message: `This layer must not import ${layer}/ (see ARCHITECTURE.md, "Layers").`,
  })),
});

export default tseslint.config(
  { ignores: ["node_modules/", ".tools/", "bench/out/", "tmp/"] },
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
    files: ["src/storage/**/*.ts", "src/engines/**/*.ts", "src/runtime/**/*.ts"],
    ignores: ["**/*.test.ts"],
    rules: { "no-restricted-imports": ["error", forbid(upperLayers)] },
  },
  {
    files: ["src/domain/**/*.ts", "src/errors.ts"],
    rules: {
      "no-restricted-imports": ["error", forbid(["storage", "engines", "runtime", ...upperLayers])],
    },
  },
  {
    files: ["src/repository/**/*.ts"],
    ignores: ["**/*.test.ts"],
    rules: {
      "no-restricted-imports": ["error", forbid(["plan", "drill", "schedule", "report", "cli", "server"])],
    },
  },
);
