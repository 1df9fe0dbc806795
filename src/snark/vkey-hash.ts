/** The canonical hash of a verification key: sha256 of its JSON with sorted keys. */
import { createHash } from "node:crypto";

export function vkeyHash(vkey: unknown): string {
  const canonical = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(canonical)
      : v && typeof v === "object"
        ? Object.fromEntries(
            Object.keys(v)
              .sort()
              .map((k) => [k, canonical((v as Record<string, unknown>)[k])]),
          )
        : v;
  return createHash("sha256")
    .update(JSON.stringify(canonical(vkey)))
    .digest("hex");
}
