import { createContext, type Context } from '../core/index.js';

/** Runs a command with a fresh context and always closes the store. */
export async function withContext<T>(action: (context: Context) => Promise<T>): Promise<T> {
  const context = createContext();
  try {
    return await action(context);
  } finally {
    context.store.close();
  }
}
