/**
 * The start method of the program (seed: SuperFastPython pool-context
 * tutorial, "Check the Process Pool Default Start Method", first example).
 *
 *   npx tsx examples/get-start-method.ts
 */
import { getStartMethod, isMainProcess } from 'billiard';

if (isMainProcess()) {
  const method = getStartMethod();
  console.log(method); // spawn: billiard's default on every platform
}
