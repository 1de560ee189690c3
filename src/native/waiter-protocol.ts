/** Messages between the main thread and its waiter thread(s). */

export const Op = { Add: 1, Cancel: 2 } as const;

/** [Add, id, word address, expected value] */
export type AddMessage = [typeof Op.Add, number, bigint, number];
export type CancelMessage = [typeof Op.Cancel, number];

/** From the thread: ids of waits whose word was woken or changed, or a fatal errno. */
export type ThreadMessage = { woken: number[] } | { fatal: number };
