/** `billiard/connection`: CPython's multiprocessing.connection. */
export { Connection, Pipe } from './connection.js';
export { Listener, Client, type Address, type Family, type ListenerOptions, type ClientOptions } from './connection/listener.js';
export { wait, type Waitable } from './connection/wait.js';
export { addressType } from './connection/address.js';
