// Type-level tests (tsc -p test/tsconfig.json --noEmit): taskModule handles are typed.
import { Pipe, Process, taskModule, type Task } from 'billiard';

const t = taskModule<typeof import('./fixtures/typed-tasks.js')>(new URL('./fixtures/typed-tasks.js', import.meta.url));
const [a] = Pipe();

// Correct uses compile.
const sq: Task<[number], number> = t.square;
const r: number | Promise<number> = t.square(3);
new Process({ target: t.greet, args: [a, 'world', 2] });
new Process({ target: t.default, args: [a] });
new Process<[number]>({ target: t.square, args: [4] });

// Wrong uses are compile errors.
// @ts-expect-error: square takes a number
t.square('three');
// @ts-expect-error: greet's second argument is a string
t.greet(a, 42, 2);
// @ts-expect-error: missing argument
t.greet(a, 'world');
// @ts-expect-error: a task taking a string cannot be a Task<[number]>
const wrongArgs: Task<[number]> = t.greet;
// @ts-expect-error: no such export
t.cube(2);
// @ts-expect-error: square returns a number, not a string
const wrong: Task<[number], string> = t.square;

void sq; void r; void wrong; void wrongArgs;
