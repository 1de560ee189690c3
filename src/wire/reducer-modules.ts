/**
 * Which module teaches the codec each library object, so that a process
 * that receives one before loading that module (a child at boot) imports it
 * on demand instead of paying for every module at start-up.
 */
export const reducerModules: Readonly<Record<string, string>> = {
  Connection: '../connection.js',
};
