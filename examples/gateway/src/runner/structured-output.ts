/**
 * Structured output: a workflow's JSON Schema is compiled once (at start-up, so a bad schema fails
 * there) and every final text is parsed and checked against it.
 */
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';

/** A compiled schema check. */
export type OutputValidator = ValidateFunction;

/** The outcome of {@link checkStructuredOutput}. */
export type StructuredOutputResult = { ok: true; data: unknown } | { ok: false; message: string };

// ajv-formats is CommonJS: under some loaders the default import is the module object.
const addFormats = ((addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ??
  addFormatsModule) as typeof addFormatsModule;

/**
 * Creates the schema compiler shared by all workflows. `strict: false` accepts provider-style
 * schemas that carry keywords ajv does not know.
 *
 * @example
 * ```ts
 * const validate = createSchemaCompiler()({ type: 'object', required: ['reply'] });
 * ```
 */
export function createSchemaCompiler(): (schema: Record<string, unknown>) => OutputValidator {
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);
  return (schema) => ajv.compile(schema);
}

/**
 * Parses `text` as JSON and validates it. The message says what is wrong, for the `error` response.
 *
 * @example
 * ```ts
 * const result = checkStructuredOutput('{"reply":"hi"}', validate);
 * if (result.ok) use(result.data);
 * ```
 */
export function checkStructuredOutput(text: string, validate: OutputValidator): StructuredOutputResult {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    return { ok: false, message: `the output is not valid JSON (${(err as Error).message})` };
  }
  if (validate(data)) return { ok: true, data };
  const problems = (validate.errors ?? [])
    .slice(0, 5)
    .map((e) => `${e.instancePath || '(root)'} ${e.message ?? 'is invalid'}`)
    .join('; ');
  return { ok: false, message: `the output does not match the workflow's schema: ${problems}` };
}
