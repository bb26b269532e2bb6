// The `sqlite` source in lifeboat.yaml.

import { z } from "zod";
import { commonSourceFields, contentHashesField } from "../../config/source-fields.ts";

export const sqliteSourceSchema = z.strictObject({
  engine: z.literal("sqlite"),
  path: z.string().min(1).describe("Path of the SQLite database file."),
  content_hashes: contentHashesField,
  ...commonSourceFields,
});

export type SqliteSourceConfig = z.infer<typeof sqliteSourceSchema>;
