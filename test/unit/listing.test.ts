import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { inputStats, listingInputs, listingKey, readListing, STATIC_METHODS } from '../../src/server/listing.js';

let dist: string;
afterEach(() => rmSync(dist, { recursive: true, force: true }));

/** A small dist/ with a listing made from it, as the build writes one. */
function built(): string {
  dist = mkdtempSync(join(tmpdir(), 'rm-test-listing-'));
  mkdirSync(join(dist, 'src', 'server'), { recursive: true });
  mkdirSync(join(dist, 'tools'));
  writeFileSync(join(dist, 'src', 'server', 'a.js'), 'export const a = 1;\n');
  writeFileSync(join(dist, 'tools', 'b.js'), 'export const b = 2;\n');
  writeFileSync(join(dist, 'tools', 'b.d.ts'), 'export declare const b: number;\n');
  const inputs = listingInputs(dist);
  const file = join(dist, 'src', 'server', 'listing.json');
  writeFileSync(
    file,
    JSON.stringify({
      key: listingKey(inputs, dist),
      files: inputStats(inputs, dist),
      protocol: { latest: '2025-11-25', supported: ['2025-11-25'] },
      initialize: { capabilities: {} },
      answers: Object.fromEntries(STATIC_METHODS.map((method) => [method, { kind: 'result', json: '{}' }])),
      resources: [],
    }),
  );
  return file;
}

describe('the listing the stdio front answers from', () => {
  it('names every built module and the two packages it depends on', () => {
    built();
    expect(listingInputs(dist)).toEqual(['src/server/a.js', 'tools/b.js', 'package:@modelcontextprotocol/sdk', 'package:zod']);
  });

  it('is used while the code beside it is the code it was made from, by times or, when they differ, by contents', () => {
    const file = built();
    expect(readListing(file, dist)).toHaveProperty('listing');
    // A copy with other times (a package installed from a tarball): the contents still match.
    utimesSync(join(dist, 'tools', 'b.js'), new Date('1985-10-26T08:15:00Z'), new Date('1985-10-26T08:15:00Z'));
    expect(readListing(file, dist)).toHaveProperty('listing');
  });

  it('is refused when a module changed, went missing, or the file is not a listing', () => {
    let file = built();
    writeFileSync(join(dist, 'tools', 'b.js'), 'export const b = 3;\n');
    expect(readListing(file, dist)).toEqual({ problem: `${file} was made from other code than the code beside it; run npm run build` });
    rmSync(dist, { recursive: true, force: true });

    file = built();
    rmSync(join(dist, 'src', 'server', 'a.js'));
    expect(readListing(file, dist)).toEqual({ problem: expect.stringMatching(/was made from other code/) });
    rmSync(dist, { recursive: true, force: true });

    file = built();
    writeFileSync(file, JSON.stringify({ key: 'x' }));
    expect(readListing(file, dist)).toEqual({ problem: `${file} is not a listing this ringmaster wrote; run npm run build` });
    rmSync(file);
    expect(readListing(file, dist)).toEqual({ problem: `${file} cannot be read (ENOENT); run npm run build` });
  });
});
