/**
 * Server-sent events as OpenAI clients read them: `data: {json}\n\n` per event and `data: [DONE]` at
 * the end. Headers go out with the first event, so a request refused before it produced anything still
 * gets a normal error status.
 */
import type { Response } from "express";

/**
 * Bytes a client may leave unread before it is dropped. Generation does not wait for slow readers (a
 * batch step serves every sequence at once), so a client that stops reading would otherwise grow the
 * server's buffers for as long as its generation runs and hold its batch slot.
 */
export const MAX_UNREAD_BYTES = 256 * 1024;

export class SseWriter {
  private started = false;
  private dropped = false;

  /** `onUnread`: called once when the client is over MAX_UNREAD_BYTES behind (the stream is then destroyed). */
  constructor(
    private readonly res: Response,
    private readonly onUnread: () => void = () => {},
    private readonly maxUnreadBytes = MAX_UNREAD_BYTES,
  ) {}

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
    if (this.dropped) return;
    this.res.write(`data: ${JSON.stringify(event)}\n\n`);
    if (this.res.writableLength > this.maxUnreadBytes) {
      this.dropped = true;
      this.onUnread();
      this.res.destroy();
    }
  }

  done(): void {
    if (!this.dropped) this.res.end("data: [DONE]\n\n");
  }
}
