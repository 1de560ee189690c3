/**
 * The parent's side of one pool worker: its process, its private channel,
 * and the FIFO of jobs sent to it. Results arrive in the order tasks were
 * sent, so the head of the FIFO is always the job a message is about.
 */
import { constants as osConstants } from 'node:os';
import type { Process } from '../process/process.js';
import type { Popen } from '../process/launcher.js';
import type { Frame } from '../wire/frames.js';
import { PoolTag, decodeTime, nowMs } from './protocol.js';
import type { Job } from './job.js';

export interface WorkerEvents {
  /** The head job was accepted at `time` (worker clock = wall clock). */
  onAccept(worker: WorkerHandle, job: Job, time: number): void;
  /** The head job finished with the given frame (Ok or Error). */
  onResult(worker: WorkerHandle, job: Job, ok: boolean, payload: Buffer, runMs: number): void;
  onMemory(worker: WorkerHandle, rss: number): void;
  /** The worker exited and its channel is drained. */
  onExit(worker: WorkerHandle, exitcode: number): void;
}

export type WorkerState = 'running' | 'retiring' | 'dying' | 'dead';

export class WorkerHandle {
  readonly pid: number;
  readonly popen: Popen;
  state: WorkerState = 'running';
  /** Jobs sent and not finished, oldest first. */
  readonly inflight: Job[] = [];
  /** Function ids this worker has been sent a definition for. */
  readonly knownFunctions = new Set<number>();
  tasksSent = 0;
  /** Being topped up to its prefetch limit (see Pool's dispatch). */
  filling = false;
  /** Tasks the worker has answered. */
  tasksAcked = 0;
  private shutdownSent = false;
  /** Why the pool ended this worker, so its death is not reported as a loss. */
  endReason: 'retired' | 'time-limit' | 'terminated-job' | 'cancelled' | 'pool-terminate' | null = null;
  /** Tasks run since the last Memory report. */
  lastRss = 0;
  private killTimer: NodeJS.Timeout | null = null;

  constructor(
    readonly proc: Process<any>,
    private readonly events: WorkerEvents,
    lostWorkerTimeout: number,
    private readonly progress: Int32Array,
  ) {
    const popen = proc._popen();
    if (!popen) throw new Error('worker process not started');
    this.popen = popen;
    // The ident: the pid of a process worker, the thread id of a thread worker (whose pid is ours).
    this.pid = popen.ident;
    popen.channel.onFrame((frame) => this.onFrame(frame));
    void popen.exited.then(async (code) => {
      // Results sent just before death are still in the socket: read them first.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        popen.channel.whenEnded(),
        new Promise<void>((resolve) => { timer = setTimeout(resolve, lostWorkerTimeout); }),
      ]);
      clearTimeout(timer);
      if (this.killTimer) clearTimeout(this.killTimer);
      this.state = 'dead';
      this.events.onExit(this, code);
    });
  }

  /** Tasks the worker has started so far (read from shared memory; valid after its death too). */
  started(): number {
    return Atomics.load(this.progress, 0);
  }

  get idle(): boolean {
    return this.inflight.length === 0;
  }

  /** Queue a frame; a worker whose channel already failed is dying: its exit handles its jobs. */
  send(tag: number, payload: Uint8Array): void {
    try {
      this.popen.channel.send(tag, payload);
    } catch {
      if (this.state === 'running' || this.state === 'retiring') this.state = 'dying';
    }
  }

  /** Ask the worker to exit after the tasks it holds (once). */
  shutdown(): void {
    if (this.shutdownSent || this.state === 'dead' || this.state === 'dying') return;
    this.shutdownSent = true;
    this.send(PoolTag.Shutdown, Buffer.alloc(0));
  }

  private onFrame(frame: Frame): void {
    switch (frame.tag) {
      case PoolTag.Ack: {
        const job = this.inflight.find((j) => !j.accepted);
        if (job) this.events.onAccept(this, job, decodeTime(frame.payload));
        return;
      }
      case PoolTag.Ok:
      case PoolTag.Error: {
        const job = this.inflight.shift();
        if (!job) return;
        if (!job.accepted) this.events.onAccept(this, job, nowMs());
        this.tasksAcked++;
        this.events.onResult(this, job, frame.tag === PoolTag.Ok, frame.payload.subarray(8), decodeTime(frame.payload));
        return;
      }
      case PoolTag.Memory:
        this.lastRss = decodeTime(frame.payload);
        this.events.onMemory(this, this.lastRss);
        return;
    }
  }

  /** SIGTERM now, SIGKILL after `graceMs` if still alive. */
  kill(signal: NodeJS.Signals = 'SIGTERM', graceMs = 1000): void {
    if (this.state === 'dead') return;
    this.state = 'dying';
    // Through the Popen: a thread worker's pid is this process's own.
    this.popen.sendSignal(signal);
    if (signal !== 'SIGKILL' && !this.killTimer) {
      this.killTimer = setTimeout(() => this.kill('SIGKILL'), graceMs);
      this.killTimer.unref();
    }
  }
}

/** billiard's human_status: 'signal 9 (SIGKILL)' or 'exitcode 3'. */
export function humanStatus(exitcode: number): string {
  if (exitcode < 0) {
    const name = Object.entries(osConstants.signals).find(([, n]) => n === -exitcode)?.[0];
    return `signal ${-exitcode}${name ? ` (${name})` : ''}`;
  }
  return `exitcode ${exitcode}`;
}
