/** `billiard/connection`: CPython's multiprocessing.connection. */
export { Connection, Pipe } from './connection.js';
