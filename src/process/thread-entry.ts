/**
 * The entry of a thread child (a worker_threads Worker): the same bootstrap
 * as a spawned process, over the socketpair end the parent gave it.
 */
import * as fs from 'node:fs';
import { workerData } from 'node:worker_threads';
import type { ThreadBoot } from './thread-boot.js';

const boot = workerData as ThreadBoot;

/**
 * Write stdout/stderr straight to the process's fd 1 and 2, as a spawned
 * child (which inherits them) does: a Worker's own streams go through the
 * parent thread's event loop, arrive after the thread's exit is reported,
 * and are lost when the program exits first.
 */
function directStdio(stream: NodeJS.WriteStream, fd: number): void {
  const original = stream.write.bind(stream);
  stream.write = function write(chunk: unknown, encoding?: unknown, callback?: unknown): boolean {
    if (typeof encoding === 'function') [callback, encoding] = [encoding, undefined];
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, (encoding as BufferEncoding | undefined) ?? 'utf8')
      : chunk instanceof Uint8Array ? chunk : null;
    if (!bytes) return original(chunk as string, encoding as BufferEncoding, callback as () => void);
    try {
      for (let off = 0; off < bytes.length;) {
        try {
          off += fs.writeSync(fd, bytes, off);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
        }
      }
    } catch {
      // fd 1/2 unusable from here (closed): fall back to the Worker's stream.
      return original(bytes, callback as () => void);
    }
    if (typeof callback === 'function') process.nextTick(callback as () => void);
    return true;
  } as typeof stream.write;
}
directStdio(process.stdout, 1);
directStdio(process.stderr, 2);
// The process's flags, so this thread's own children inherit the same loaders.
process.execArgv = boot.execArgv;

const [{ runChild, bootFailed }, { FrameChannel }, { deferLoaders }] = await Promise.all([
  import('./bootstrap.js'),
  import('../wire/channel.js'),
  import('../modules.js'),
]);
deferLoaders(boot.loaders);
runChild({
  control: new FrameChannel(boot.fd),
  fds: boot.fds,
  // The parent closed our channel: end this thread (its own children end with it).
  onParentGone: () => process.exit(1),
}).catch(bootFailed);
