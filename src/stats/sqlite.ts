/**
 * The better-sqlite3 build for this Node. Version 13 (Node-API, prebuilt) is the one that survives Node
 * 24's ObjectWrap change (12.x aborts at exit there: WiseLibs/better-sqlite3#1515) but does not run on
 * Node 20; 12.x, installed as `better-sqlite3-node20` (an optional dependency built from source), does.
 */
import { createRequire } from 'node:module';
import type BetterSqlite3 from 'better-sqlite3';

const require = createRequire(import.meta.url);
const major = Number(process.versions.node.split('.')[0]);

export const Database: typeof BetterSqlite3 = require(
  major >= 22 ? 'better-sqlite3' : 'better-sqlite3-node20',
);
export type Database = BetterSqlite3.Database;
