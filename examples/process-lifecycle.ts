/**
 * Process management (seed: billiard quick-start, the Process API snippet):
 * start, join (with a timeout), isAlive, terminate, exit codes,
 * currentProcess, activeChildren, cpuCount.
 *
 *   npx tsx examples/process-lifecycle.ts
 */
import { Process, activeChildren, cpuCount, currentProcess, isMainProcess, parentProcess } from 'billiard';

/** Prints who it is, then returns (exit code 0). */
export function hello(greeting: string): void {
  console.log(`${greeting} from ${currentProcess().name} (pid ${process.pid}, parent pid ${parentProcess()?.pid})`);
}

/** Exits with the given code. */
export function exitWith(code: number): void {
  process.exit(code);
}

/** Runs until terminated. */
export async function sleepForever(): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 60_000));
}

if (isMainProcess()) {
  console.log(`main: ${currentProcess().name}, ${cpuCount()} CPUs`);

  const greeter = new Process({ target: hello, args: ['hello'], name: 'greeter' });
  greeter.start();
  await greeter.join();
  console.log(`greeter exitcode ${greeter.exitcode}`);

  const exiter = new Process({ target: exitWith, args: [3] });
  exiter.start();
  await exiter.join();
  console.log(`exiter exitcode ${exiter.exitcode}`);

  const sleeper = new Process({ target: sleepForever, daemon: true });
  sleeper.start();
  await sleeper.join(200); // a join with a timeout (ms) returns; the child runs on
  console.log(`sleeper alive after join(200): ${sleeper.isAlive()}; active children: ${activeChildren().map((p) => p.name).join(', ')}`);
  sleeper.terminate();
  await sleeper.join();
  console.log(`sleeper alive after terminate(): ${sleeper.isAlive()}, exitcode ${sleeper.exitcode}`);
  sleeper.close(); // release its resources
}
