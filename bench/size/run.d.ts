/** Types of bench/size/run.js, for the tests that share its bundling. */
export declare const ENTRIES: readonly { name: string; file: string; budget?: number }[];
export declare function measure(file: string): Promise<{ raw: number; gzip: number; inputs: string[]; imports: string[]; code: string }>;
