/**
 * The build step after tsc (`npm run build`): writes dist/config/schema-check.generated.js, the config
 * schema's check compiled ahead of time (schema-check.ts).
 */
import { writeFile } from 'node:fs/promises';
import { GENERATED_FILE, schemaCheckModule } from './schema-check.js';

await writeFile(new URL(GENERATED_FILE, import.meta.url), await schemaCheckModule());
