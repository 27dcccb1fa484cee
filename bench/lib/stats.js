// Summaries over repetitions.
'use strict';

const sorted = (xs) => [...xs].sort((a, b) => a - b);
const median = (xs) => {
  const s = sorted(xs);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** Median, min and max of each numeric field present in every repetition. */
function summarize(reps) {
  const out = {};
  for (const key of Object.keys(reps[0])) {
    const xs = reps.map((r) => r[key]).filter((x) => typeof x === 'number' && Number.isFinite(x));
    if (xs.length === reps.length) out[key] = { median: median(xs), min: Math.min(...xs), max: Math.max(...xs) };
  }
  return out;
}

module.exports = { median, summarize };
