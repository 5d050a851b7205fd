export { runCli, type CliIo } from './cli.js';
export { convertUnleashExport, conversionSnapshot, type ConvertedFlag, type ConvertOptions, type UnleashConversion, type UnmappedItem } from './unleash/convert-unleash.js';
export type * from './unleash/unleash-types.js';
export { findFlagReferences, flagCleanupReport, scanSourceTree, type CleanupReport, type FlagReference, type ProjectFlag, type RemovalReason, type ScanOptions } from './scan/scan-source.js';
