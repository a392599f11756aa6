export { type CachedList, openCachedList } from './open.js';
export { createParseCache, type ParseCache, parseCacheKey } from './store.js';
