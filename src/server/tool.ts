import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type { ServerNotification, ServerRequest, ToolAnnotations } from '@modelcontextprotocol/sdk/types.js';
import type { z } from 'zod';
import { explainError, recheckStore, type Context } from '../core/index.js';

/** What a handler gets besides its arguments. */
export interface ToolExtras {
  /** Sends an MCP progress notification when the caller asked for progress; otherwise a no-op. */
  progress: (message: string) => void;
  signal: AbortSignal;
  /** Asks the human through the client's elicitation dialog; undefined when the client has none. */
  elicit?: (params: { message: string; requestedSchema: ElicitSchema }) => Promise<{ action: 'accept' | 'decline' | 'cancel'; content?: Record<string, unknown> }>;
}

export interface ElicitSchema {
  type: 'object';
  properties: Record<string, Record<string, unknown>>;
  required?: string[];
}

export interface ToolDefinition<In extends z.ZodObject, Out extends z.ZodObject> {
  name: string;
  title: string;
  description: string;
  inputSchema: In;
  outputSchema: Out;
  annotations: ToolAnnotations;
  handle: (context: Context, args: z.infer<In>, extras: ToolExtras) => Promise<z.infer<Out>>;
  /**
   * One short line in words for the human reading the client's transcript
   * (what happened); it goes first, before the JSON and the structured result.
   */
  summary: (result: z.infer<Out>) => string;
}

// The list of tools holds definitions of different schema types.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyToolDefinition = ToolDefinition<any, any>;

export function defineTool<In extends z.ZodObject, Out extends z.ZodObject>(definition: ToolDefinition<In, Out>): ToolDefinition<In, Out> {
  return definition;
}

/**
 * Registers a tool so that every failure becomes an `isError` result with a
 * message the caller can act on; the server itself never crashes on a call.
 */
export function registerTool(server: McpServer, context: Context, tool: AnyToolDefinition): void {
  server.registerTool(
    tool.name,
    {
      title: tool.title,
      description: tool.description,
      inputSchema: tool.inputSchema,
      outputSchema: tool.outputSchema,
      annotations: { title: tool.title, ...tool.annotations },
    },
    async (args: unknown, extra: RequestHandlerExtra<ServerRequest, ServerNotification>) => {
      const progressToken = extra._meta?.progressToken;
      let step = 0;
      const progress = (message: string) => {
        if (progressToken === undefined) return;
        step += 1;
        extra
          .sendNotification({ method: 'notifications/progress', params: { progressToken, progress: step, message } })
          .catch(() => {
            // A client that went away mid-call must not fail the operation.
          });
      };
      try {
        recheckStore(context);
        const canElicit = Boolean(server.server.getClientCapabilities()?.elicitation);
        const elicit: ToolExtras['elicit'] = canElicit
          ? async (params) => (await server.server.elicitInput(params as Parameters<typeof server.server.elicitInput>[0])) as Awaited<ReturnType<NonNullable<ToolExtras['elicit']>>>
          : undefined;
        // The output schema is the public shape: only its fields go out (a handler may pass internal ones along).
        // The SDK then validates the result against the same schema: one validation, not two (a fleet's read is 100s of KB).
        const structuredContent = publicShape(tool.outputSchema, await tool.handle(context, args, { progress, signal: extra.signal, elicit })) as Record<string, unknown>;
        return {
          content: [
            { type: 'text' as const, text: readableLine(tool, structuredContent) },
            // Compact: the same JSON as structuredContent, without the indentation that made a fleet's read a third longer.
            { type: 'text' as const, text: JSON.stringify(structuredContent) },
          ],
          structuredContent,
        };
      } catch (error) {
        // A store fault (locked, damaged, full, unwritable, newer) becomes its clear message, never "Internal error".
        return { isError: true, content: [{ type: 'text' as const, text: explainError(context, error) }] };
      }
    },
  );
}

/** What zod's schemas keep in `_zod.def` that the walk below reads. */
interface SchemaDef {
  type: string;
  shape?: Record<string, z.ZodType>;
  element?: z.ZodType;
  innerType?: z.ZodType;
  catchall?: z.ZodType;
}

/** Types whose value goes out as it is (the SDK's validation checks it). */
const LEAF_TYPES = new Set(['string', 'number', 'boolean', 'enum', 'literal', 'null', 'int', 'bigint', 'date', 'any', 'unknown']);

/**
 * The value cut to the schema's fields, as `schema.parse` would strip it,
 * without validating every leaf: objects keep only their declared keys, arrays
 * and nullable/optional values are walked, leaves are copied. Any other kind
 * of node (a union, a default, a transform, an object with a catch-all) is
 * handed to zod's own parse, so the result is always what parse returns for
 * valid output; invalid output is caught by the SDK's validation after this.
 */
export function publicShape(schema: z.ZodType, value: unknown): unknown {
  const def = (schema as unknown as { _zod: { def: SchemaDef } })._zod.def;
  if (LEAF_TYPES.has(def.type)) return value;
  if ((def.type === 'nullable' && value === null) || (def.type === 'optional' && value === undefined)) return value;
  if ((def.type === 'nullable' || def.type === 'optional') && def.innerType) return publicShape(def.innerType, value);
  if (def.type === 'array' && def.element && Array.isArray(value)) return value.map((item) => publicShape(def.element!, item));
  if (def.type === 'object' && def.shape && !def.catchall && typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const out: Record<string, unknown> = {};
    for (const [key, field] of Object.entries(def.shape)) {
      const item = (value as Record<string, unknown>)[key];
      const picked = publicShape(field, item);
      if (picked !== undefined || key in value) out[key] = picked;
    }
    return out;
  }
  return schema.parse(value);
}

/** The tool's summary as one line; a summary that throws must not fail a call that succeeded. */
export function readableLine(tool: AnyToolDefinition, result: Record<string, unknown>): string {
  try {
    const line = tool.summary(result).replace(/\s*\n\s*/g, ' ').trim();
    return line.length > 300 ? `${line.slice(0, 299)}…` : line || `${tool.title}: done.`;
  } catch {
    return `${tool.title}: done.`;
  }
}

/** "1 agent", "3 agents": counts in summaries read as words. */
export function plural(count: number, noun: string, pluralNoun = `${noun}s`): string {
  return `${count} ${count === 1 ? noun : pluralNoun}`;
}
