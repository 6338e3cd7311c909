/** Small statistics and formatting helpers for the benchmarks. */

export function median(values) {
  const sorted = values.filter((value) => Number.isFinite(value)).sort((a, b) => a - b);
  if (sorted.length === 0) return null;
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** Median, min, max and the raw samples, rounded for the results file. */
export function summarize(values, digits = 2) {
  const finite = values.filter((value) => Number.isFinite(value));
  return {
    median: round(median(finite), digits),
    min: finite.length ? round(Math.min(...finite), digits) : null,
    max: finite.length ? round(Math.max(...finite), digits) : null,
    samples: finite.map((value) => round(value, digits)),
  };
}

export function round(value, digits = 2) {
  if (value === null || value === undefined || !Number.isFinite(value)) return null;
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

export function ratio(a, b, digits = 2) {
  if (!Number.isFinite(a) || !Number.isFinite(b) || b === 0) return null;
  return round(a / b, digits);
}

export const MB = 1024 * 1024;

/** Prints rows as an aligned text table. */
export function table(rows) {
  const widths = [];
  for (const row of rows) row.forEach((cell, index) => (widths[index] = Math.max(widths[index] ?? 0, String(cell).length)));
  return rows
    .map((row, rowIndex) => {
      // First and last columns are text (left-aligned); the ones between are figures.
      const line = row
        .map((cell, index) => (index === 0 || index === row.length - 1 ? String(cell).padEnd(widths[index]) : String(cell).padStart(widths[index])))
        .join('  ')
        .trimEnd();
      return rowIndex === 0 ? `${line}\n${widths.map((width) => '-'.repeat(width)).join('  ')}` : line;
    })
    .join('\n');
}

export function fmt(value, unit = '', digits = 1) {
  if (value === null || value === undefined || !Number.isFinite(value)) return 'n/a';
  return `${value.toFixed(digits)}${unit}`;
}
