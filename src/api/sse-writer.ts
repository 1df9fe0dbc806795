/**
 * Server-sent events as OpenAI clients read them: `data: {json}\n\n` per event and `data: [DONE]` at
 * the end. Headers go out with the first event, so a request refused before it produced anything still
 * gets a normal error status.
 */
import type { Response } from "express";

export class SseWriter {
  private started = false;

  constructor(private readonly res: Response) {}

  get hasStarted(): boolean {
    return this.started;
  }

  send(event: unknown): void {
    if (!this.started) {
      this.started = true;
      this.res.status(200);
      this.res.setHeader("Content-Type", "text/event-stream; charset=utf-8");
      this.res.setHeader("Cache-Control", "no-cache");
      this.res.setHeader("Connection", "keep-alive");
      this.res.setHeader("X-Accel-Buffering", "no");
      this.res.flushHeaders();
    }
    this.res.write(`data: ${JSON.stringify(event)}\n\n`);
  }

  done(): void {
    this.res.end("data: [DONE]\n\n");
  }
}
