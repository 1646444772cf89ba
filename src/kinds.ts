/**
 * The backends cuttle can open by name, for `Storage.configure(kind, options)` and the `cuttle`
 * command's store arguments. The core knows `memory`; each platform's entry module defines the
 * kinds it has (src/node.ts: `file`, `sqlite`, `postgres`) with {@link defineBackendKind}, and adds
 * their options to {@link BackendOptionsByKind} (declaration merging), so that `configure` checks
 * them at compile time too.
 * @module
 */
import type { StorageBackend } from './backends/backend.js';
import { InMemoryBackend, type InMemoryBackendOptions } from './backends/memory.js';
import { InvalidOptionError } from './errors.js';
import { checkOptions, describe } from './options.js';

/** The options of each backend kind the platform knows; entry modules add theirs. */
export interface BackendOptionsByKind {
  memory: InMemoryBackendOptions;
}

/** A backend name: `'memory'` everywhere; on Node also `'file'`, `'sqlite'`, `'postgres'`. */
export type BackendKind = keyof BackendOptionsByKind;

/** How to open a backend of one kind. */
export interface BackendKindDefinition<O> {
  open(options: O): StorageBackend;
  /** The option names the backend takes (a misspelt one is reported with these as suggestions). */
  readonly options: readonly string[];
  /** What the backend's `ownsPath` answers for a store at `storePath`, without opening it. */
  owns?(storePath: string, path: string): boolean;
}

const kinds = new Map<string, BackendKindDefinition<never>>();

/** Makes `kind` openable by name. Called by entry modules; a kind defined twice keeps the last definition. */
export function defineBackendKind<K extends BackendKind>(kind: K, definition: BackendKindDefinition<BackendOptionsByKind[K]>): void {
  kinds.set(kind, definition as BackendKindDefinition<never>);
}

defineBackendKind('memory', { open: (options) => new InMemoryBackend(options), options: ['now'] });

/** The kinds {@link openBackend} knows here. */
export function backendKinds(): BackendKind[] {
  return [...kinds.keys()] as BackendKind[];
}

/**
 * Opens a backend by kind. `extra` names further option keys the caller accepts and strips
 * itself (so a misspelt key is reported with every valid one as a suggestion).
 */
export function openBackend<K extends BackendKind>(kind: K, options: BackendOptionsByKind[K], where: string, extra: readonly string[] = []): StorageBackend {
  const definition = typeof kind === 'string' ? kinds.get(kind) : undefined;
  if (!definition) throw new InvalidOptionError(`${where}: unknown backend ${describe(kind)}; known here: ${backendKinds().join(', ')}`);
  checkOptions(where, options, [...definition.options, ...extra]);
  return (definition as BackendKindDefinition<BackendOptionsByKind[K]>).open(options);
}

/**
 * Whether the store of `kind` at `storePath` is `path` or holds it (what its backend's `ownsPath`
 * would say), asked before opening it, so that nothing is created for a command that is refused.
 */
export function storeOwns(kind: BackendKind, storePath: string, path: string): boolean {
  return kinds.get(kind)?.owns?.(storePath, path) ?? false;
}
