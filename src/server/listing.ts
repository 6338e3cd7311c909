import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The MCP SDK's own answers to what a client asks when it connects
 * (initialize, tools/list, prompts/list, ...), written by `npm run build`
 * (listing-build.ts runs the real server once) so that the stdio front
 * (front.ts) can answer them without loading the SDK.
 *
 * The file names the code it was made from: every built module, and the SDK's
 * and zod's package.json, by size and modification time and by a hash of
 * their contents. When a size or time differs (a package installed from a
 * tarball has other times) the contents are hashed again; a listing whose
 * hash does not match the code beside it (a `tsc` without the build step, an
 * upgraded SDK) is not used: the server then loads the SDK at once, as
 * before, and says why on stderr.
 */
export interface Listing {
  key: string;
  /** What the key was made from: a dist-relative path, or `package:<name>` for a dependency's package.json; its size and mtime then. */
  files: Array<[string, number, number]>;
  protocol: { latest: string; supported: string[] };
  /** The initialize result; its protocolVersion is the one negotiated with each client. */
  initialize: Record<string, unknown>;
  /** Requests answered the same way every time: method -> the JSON of the response's result or error. */
  answers: Record<string, { kind: 'result' | 'error'; json: string }>;
  /** resources/list's fixed part; the agents (a template's list) follow from the store. */
  resources: Array<Record<string, unknown>>;
}

/** Methods whose answer depends on nothing but the code: the listing holds the SDK's own answer to each. */
export const STATIC_METHODS = ['tools/list', 'prompts/list', 'resources/templates/list', 'ping', 'server/discover'] as const;

const HERE = dirname(fileURLToPath(import.meta.url));
/** dist/: this file is dist/src/server/listing.js once built. */
const DIST = join(HERE, '..', '..');
export const LISTING_FILE = join(HERE, 'listing.json');
const PACKAGES = ['@modelcontextprotocol/sdk', 'zod'];

/** Every file the listing depends on (build time): each module of dist/src, dist/tools and dist/prompts, and the two packages. */
export function listingInputs(dist = DIST): string[] {
  const files: string[] = [];
  for (const folder of ['src', 'tools', 'prompts']) {
    const root = join(dist, folder);
    if (!existsSync(root)) continue;
    for (const entry of readdirSync(root, { recursive: true, encoding: 'utf8' })) {
      if (entry.endsWith('.js')) files.push(relative(dist, join(root, entry)));
    }
  }
  return [...files.sort(), ...PACKAGES.map((name) => `package:${name}`)];
}

/** The file behind an input's name. */
function pathOf(input: string, dist: string): string {
  return input.startsWith('package:') ? packageJson(input.slice('package:'.length)) : join(dist, input);
}

/** Size and modification time of each input; a missing file is -1, -1. */
export function inputStats(inputs: string[], dist = DIST): Array<[string, number, number]> {
  return inputs.map((input) => {
    const stats = statSync(pathOf(input, dist), { throwIfNoEntry: false });
    return [input, stats?.size ?? -1, stats?.mtimeMs ?? -1];
  });
}

/** A hash of the inputs' names and contents. */
export function listingKey(inputs: string[], dist = DIST): string {
  const hash = createHash('sha256');
  // One small buffer for every file: the server's idle memory is a goal, and file-sized buffers would raise it.
  const buffer = Buffer.allocUnsafe(64 * 1024);
  for (const input of inputs) {
    hash.update(input);
    hash.update('\0');
    const fd = openSync(pathOf(input, dist), 'r');
    try {
      let read: number;
      while ((read = readSync(fd, buffer, 0, buffer.length, null)) > 0) hash.update(buffer.subarray(0, read));
    } finally {
      closeSync(fd);
    }
    hash.update('\0');
  }
  return hash.digest('hex');
}

/** A package's package.json, found by walking up from its resolved entry point. */
function packageJson(name: string): string {
  let folder = dirname(fileURLToPath(import.meta.resolve(name === 'zod' ? 'zod' : `${name}/server/mcp.js`)));
  for (;;) {
    const file = join(folder, 'package.json');
    if (existsSync(file) && (JSON.parse(readFileSync(file, 'utf8')) as { name?: string }).name === name) return file;
    const parent = dirname(folder);
    if (parent === folder) throw new Error(`no package.json of ${name} above ${folder}`);
    folder = parent;
  }
}

/** The listing beside the built code, or why it cannot be used. */
export function readListing(file = LISTING_FILE, dist = DIST): { listing: Listing } | { problem: string } {
  let listing: Listing;
  try {
    listing = JSON.parse(readFileSync(file, 'utf8')) as Listing;
  } catch (error) {
    return { problem: `${file} cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); run npm run build` };
  }
  const valid =
    typeof listing.key === 'string' &&
    Array.isArray(listing.files) &&
    listing.files.every((entry) => Array.isArray(entry) && typeof entry[0] === 'string') &&
    Array.isArray(listing.protocol?.supported) &&
    typeof listing.protocol.latest === 'string' &&
    typeof listing.initialize === 'object' &&
    STATIC_METHODS.every((method) => typeof listing.answers?.[method]?.json === 'string') &&
    Array.isArray(listing.resources);
  if (!valid) return { problem: `${file} is not a listing this ringmaster wrote; run npm run build` };
  const stale = `${file} was made from other code than the code beside it; run npm run build`;
  try {
    const inputs = listing.files.map(([input]) => input);
    const now = inputStats(inputs, dist);
    // The same sizes and times: the files the listing was made from. Otherwise their contents decide.
    if (now.every(([, size, mtime], index) => size === listing.files[index]![1] && mtime === listing.files[index]![2])) return { listing };
    return listingKey(inputs, dist) === listing.key ? { listing } : { problem: stale };
  } catch {
    return { problem: stale };
  }
}
