/**
 * Python's lookup errors, raised by managed dicts, lists and namespaces and
 * re-raised in the caller with their class. The classes are the package's
 * own (defined beside shared memory); registering them here lets them travel
 * by name between a manager and its clients.
 * TODO(lead): moving KeyError/IndexError/AttributeError into errors.ts would
 * make them known to the codec everywhere, and this module unnecessary.
 */
import { registerClass } from '../wire/codec.js';
import { AttributeError, IndexError } from '../sharedctypes.js';
import { KeyError } from '../shared-memory.js';

export { AttributeError, IndexError, KeyError };

for (const cls of [KeyError, IndexError, AttributeError]) registerClass(cls);
