import { closeStore, contextStorePath, createContext, type Context } from '../core/index.js';
import { storeFault } from '../errors.js';

/** Runs a command with a fresh context and always closes the store; a raw SQLite fault becomes the store's one clear error. */
export async function withContext<T>(action: (context: Context) => Promise<T>): Promise<T> {
  const context = createContext();
  try {
    return await action(context);
  } catch (error) {
    throw storeFault(error, contextStorePath(context), context.config.store.busyTimeoutMs) ?? error;
  } finally {
    closeStore(context);
  }
}
