/**
 * Small named values that a tool keeps inside a store beside the data (the store's `meta`
 * table), e.g. which users the CLI put into the directory. The SQLite and the PostgreSQL store
 * each give access to theirs (`storeMeta`, `postgresStoreMeta`). Not part of the package's
 * public API: the CLI reaches it from inside the package; a host has its own database for such
 * things.
 */
export interface StoreMeta {
  get(key: string): Promise<string | undefined>;
  set(key: string, value: string): Promise<void>;
}
