// Documents only the local cache holds (the decoded snapshot catalog),
// sealed with the master key like a stored object, so they are as private as
// the repository and a damaged or foreign copy reads as absent.

import { isLifeboatError } from "../errors.ts";
import { decodePayload, encodePayload } from "./compression.ts";
import { seal, unseal } from "./envelope.ts";
import type { ObjectStore } from "./object-store.ts";

/** Local documents are small next to this bound; it only limits what a damaged one can make us allocate. */
const MAX_LOCAL_DOCUMENT_BYTES = 1024 * 1024 * 1024;

/** The name a cache-only document is sealed under: never a storage key, so one cannot pass for the other. */
function localName(name: string): string {
  return `local:${name}`;
}

export async function readLocalDocument(store: ObjectStore, name: string): Promise<Buffer | undefined> {
  const stored = await store.cache?.read(name);
  if (!stored) return undefined;
  try {
    const payload = unseal(localName(name), stored, store.protection, store.encryptionKey);
    return await decodePayload(name, payload, MAX_LOCAL_DOCUMENT_BYTES);
  } catch (error) {
    if (!isLifeboatError(error)) throw error;
    await store.cache?.remove(name);
    return undefined;
  }
}

export async function writeLocalDocument(store: ObjectStore, name: string, plaintext: Buffer): Promise<void> {
  if (!store.cache) return;
  const payload = await encodePayload(plaintext, { sample: false });
  await store.cache.write(name, seal(localName(name), payload, store.protection, store.encryptionKey));
}
