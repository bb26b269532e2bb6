// The whole lifeboat.yaml schema: the common parts (config/schema.ts) around
// the union of every registered engine's own source schema. Loading lives in
// config/load.ts, which knows no engine; this file hands it the rules.

import { z } from "zod";
import { configSchemaFor } from "../config/schema.ts";
import {
  configPath,
  loadConfigFile,
  parseConfigText,
  type ConfigRules,
  type LoadedConfig,
} from "../config/load.ts";
import { engineFor, engineNames, engines, type SourceConfig } from "./registry.ts";

/**
 * Every engine's schema is a strictObject with a literal `engine` (the
 * definitions guarantee it); the type of the union is the registry's
 * SourceConfig, which zod cannot infer through the Engine interface.
 */
export const sourceSchema = z.discriminatedUnion(
  "engine",
  engines.map((engine) => engine.configSchema) as never,
) as unknown as z.ZodType<SourceConfig>;
export const configSchema = configSchemaFor(sourceSchema);

export type { SourceConfig };
export type Config = z.infer<typeof configSchema>;

const rules: ConfigRules<Config> = {
  schema: configSchema,
  engineNames,
  pathFieldsOf: (source) => engineFor(source.engine).pathFields,
};

export function parseConfig(text: string, path = "lifeboat.yaml"): Config {
  return parseConfigText(text, path, rules);
}

export function loadConfig(path: string): Promise<LoadedConfig<Config>> {
  return loadConfigFile(path, rules);
}

export { configPath };
