/** One client's bundle: sizes in bytes, and the source files esbuild pulled in. */
export interface BundleSize {
  minified: number;
  gzipped: number;
  inputs: string[];
}

export declare const entries: { tandem: string; phoenix: string };

export declare function measureBundleSizes(): Promise<{ tandem: BundleSize; phoenix: BundleSize }>;
