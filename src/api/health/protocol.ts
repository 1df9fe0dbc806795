/** Wire schema of GET /health. */
import { z } from "zod";

export const Health = z
  .object({
    status: z.literal("ok"),
    device: z.enum(["cpu", "cuda"]),
    /** PROOFGATE_DEVICE: `auto` with device `cpu` means CUDA could not be used (the startup warning says why). */
    device_requested: z.enum(["auto", "cpu", "cuda"]),
    models: z.array(
      z.object({ id: z.string(), task: z.string(), provable: z.boolean(), device: z.enum(["cpu", "cuda"]) }),
    ),
  })
  .meta({ id: "Health" });
export type Health = z.infer<typeof Health>;
