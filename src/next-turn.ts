/**
 * Runs a function in a later iteration of the event loop (after I/O callbacks), without Node:
 * `setImmediate` where there is one, else a `MessageChannel` message (browsers; a `setTimeout(0)`
 * nested too deep waits 4 ms), else `setTimeout`.
 * @module
 */

type Turn = (fn: () => void) => void;

function channelTurn(): Turn | undefined {
  if (typeof MessageChannel !== 'function') return undefined;
  const queue: Array<() => void> = [];
  const channel = new MessageChannel();
  // The web's MessagePort (Node's typings describe Node's own, which is not used here).
  (channel.port1 as unknown as { onmessage: () => void }).onmessage = () => queue.shift()?.();
  return (fn) => {
    queue.push(fn);
    channel.port2.postMessage(undefined);
  };
}

const immediate = (globalThis as { setImmediate?: (fn: () => void) => unknown }).setImmediate;

/** Calls `fn` once, in a later event-loop iteration. */
export const nextTurn: Turn = immediate ? (fn) => void immediate(fn) : (channelTurn() ?? ((fn) => void setTimeout(fn, 0)));
