/**
 * The list sources' normalization moved to sections/lists.ts and sections/feeds.ts (one file per
 * config section); these names stay importable from here for the CLI, the fleet code and the tests.
 */

export { FEED_EXPECTED, feedUrl } from './sections/feeds.js';
export {
  configLists,
  defaultSourceName,
  parseListFlags,
  type RawListEntry,
  SAMPLE_LISTS,
  SAMPLES_DIR,
} from './sections/lists.js';
