// Property tests draw random inputs. FAST_CHECK_SEED pins them, so a failure
// seen once can be replayed and CI runs the same inputs every time; without
// it every run explores new ones (and prints the seed of any failure).
import fc from 'fast-check';

const seed = process.env.FAST_CHECK_SEED;
if (seed !== undefined && seed !== '') {
  const value = Number(seed);
  if (!Number.isSafeInteger(value)) throw new Error(`FAST_CHECK_SEED must be an integer, got ${JSON.stringify(seed)}`);
  fc.configureGlobal({ seed: value });
}
