// Types for scripts/pack.mjs, so the TypeScript test under tests/pack typechecks.

/** A packages/* folder whose package.json is not private. */
export interface PublicPackage {
  name: string;
  /** Absolute path of the package's folder. */
  dir: string;
  /** Its package.json as parsed. */
  manifest: {
    name: string;
    version: string;
    private?: boolean;
    main?: string;
    module?: string;
    exports?: Record<string, unknown>;
    dependencies?: Record<string, string>;
    peerDependencies?: Record<string, string>;
    peerDependenciesMeta?: Record<string, { optional?: boolean }>;
    [field: string]: unknown;
  };
}

/** One tarball written by `pnpm pack`. */
export interface PackedPackage {
  name: string;
  version: string;
  /** Absolute path of the .tgz. */
  tarball: string;
}

export declare function publicPackages(root?: string): PublicPackage[];

export declare function packPackages(destination: string, root?: string): PackedPackage[];
