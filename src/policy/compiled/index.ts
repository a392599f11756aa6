/** The compiled lists: build (builder.ts), store and load (artifact.ts), look up (compiled-lists.ts). */
export { type LoadedLists, loadArtifact, readArtifact, writeArtifact } from './artifact.js';
export { type ArtifactMeta, createListBuilder, type ListBuilder } from './builder.js';
export { Compiled } from './compiled-lists.js';
