/**
 * The better-sqlite3 build for this Node. Version 13 (Node-API, prebuilt) is the one that survives Node
 * 24's ObjectWrap change (12.x aborts at exit there: WiseLibs/better-sqlite3#1515) but does not run on
 * Node 20; 12.x, installed as `better-sqlite3-node20` (an optional dependency built from source), does.
 * The driver (a native addon) loads at the first `new Database()`: a start opens the statistics store
 * after the first DNS answers, and a shared store never needs it.
 */
import type BetterSqlite3 from 'better-sqlite3';
import { lazyRequire } from '../lazy.js';

const major = Number(process.versions.node.split('.')[0]);
const driver = lazyRequire<typeof BetterSqlite3>(major >= 22 ? 'better-sqlite3' : 'better-sqlite3-node20');

/** better-sqlite3's Database: `new Database(path, options)` as with the driver's own class. */
export const Database = function Database(...args: ConstructorParameters<typeof BetterSqlite3>) {
  return new (driver())(...args);
} as unknown as typeof BetterSqlite3;
export type Database = BetterSqlite3.Database;
