/**
 * Imported inside a thread child before its first TypeScript module:
 * registers tsx's ESM hooks through its API (`thread-loader.js?api=<url>`).
 */
const api = new URL(import.meta.url).searchParams.get('api');
if (api) {
  const { register } = (await import(api)) as { register: () => unknown };
  register();
}
export {};
