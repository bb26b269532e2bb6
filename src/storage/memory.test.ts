import { MemoryBackend } from "./memory.ts";
import { runBackendConformance } from "../../test/support/backend-conformance.ts";

runBackendConformance("memory", async () => ({ backend: new MemoryBackend(), cleanup: async () => {} }));
