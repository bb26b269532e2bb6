// Regenerates the documents derived from code: docs/config.schema.json (for
// editors) and docs/errors.md (the error table). test/docs.test.ts fails when
// they are stale, so run `npm run docs` after changing the schema or errors.

import { writeFile } from "node:fs/promises";
import { renderConfigJsonSchema, renderErrorTable } from "./docs-render.ts";

await writeFile(new URL("../docs/config.schema.json", import.meta.url), renderConfigJsonSchema());
await writeFile(new URL("../docs/errors.md", import.meta.url), renderErrorTable());
console.log("wrote docs/config.schema.json and docs/errors.md");
