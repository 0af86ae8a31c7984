/**
 * The part of the Standard Schema v1 interface (https://standardschema.dev) that Tandem
 * reads: zod (3.24 and later), valibot and arktype schemas all have it, so the server
 * validates with whichever the app uses and depends on none of them.
 */
export interface StandardSchema<Output = unknown> {
  /** The schema library's implementation of the interface. */
  readonly "~standard": {
    /** Always 1 for this version of the interface. */
    readonly version: 1;
    /** The library's name, e.g. `"zod"`. */
    readonly vendor: string;
    /** Checks `value`; the result holds the (possibly transformed) value or the issues. */
    readonly validate: (
      value: unknown,
    ) => StandardSchemaResult<Output> | Promise<StandardSchemaResult<Output>>;
  };
}

/** What {@link StandardSchema} validation returns: a value, or the issues found. */
export type StandardSchemaResult<Output> =
  | { readonly value: Output; readonly issues?: undefined }
  | { readonly issues: readonly StandardSchemaIssue[] };

/** One problem a {@link StandardSchema} found. */
export interface StandardSchemaIssue {
  /** What is wrong, in the library's words. */
  readonly message: string;
  /** Where: keys, or segments holding a key. */
  readonly path?: readonly (PropertyKey | { readonly key: PropertyKey })[] | undefined;
}
