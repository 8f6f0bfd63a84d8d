/** Progress on stderr: a redrawn bar on a terminal, a line every 10% otherwise (logs, CI, tests). */
export class Progress {
  private lastStep = -1;

  constructor(
    private readonly stream: NodeJS.WriteStream,
    private readonly label: string,
  ) {}

  update(doneS: number, totalS: number, extra = ''): void {
    const frac = totalS > 0 ? Math.min(1, doneS / totalS) : 1;
    const text = `${this.label} ${doneS.toFixed(1)}/${totalS.toFixed(1)} s ${String(Math.round(frac * 100)).padStart(3)}%${extra ? `  ${extra}` : ''}`;
    if (this.stream.isTTY) {
      const width = 24;
      const filled = Math.round(frac * width);
      this.stream.write(`\r[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${text}\x1b[K`);
      return;
    }
    const step = Math.floor(frac * 10);
    if (step === this.lastStep) return;
    this.lastStep = step;
    this.stream.write(`${text}\n`);
  }

  done(message: string): void {
    this.stream.write(this.stream.isTTY ? `\r${message}\x1b[K\n` : `${message}\n`);
  }
}
