/**
 * A pass run again and again, `pollMs` after the previous one ended (never two at once), until
 * stopped; `stop` waits for the pass in hand. What the submitter and the oracle watcher run on.
 */
export class PollingLoop {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly pass: () => Promise<void>,
    private readonly pollMs: number,
    private readonly onError: (err: unknown) => void,
  ) {}

  get isStopped(): boolean {
    return this.stopped;
  }

  start(): void {
    const tick = async (): Promise<void> => {
      if (this.stopped) return;
      this.running = this.pass().catch(this.onError);
      await this.running;
      if (!this.stopped) this.timer = setTimeout(() => void tick(), this.pollMs);
    };
    void tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }
}
