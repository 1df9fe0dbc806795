/** Wire schema of GET /health. */
import { z } from "zod";

export const Health = z
  .object({
    status: z.literal("ok"),
    device: z.enum(["cpu", "cuda"]),
    models: z.array(z.object({ id: z.string(), task: z.string(), provable: z.boolean(), device: z.enum(["cpu", "cuda"]) })),
  })
  .meta({ id: "Health" });
export type Health = z.infer<typeof Health>;
