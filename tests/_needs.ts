/**
 * Test helper: a test that needs a permission runs where it is granted, and
 * where it is not (a bare `deno test`), Deno reports it as ignored, with what
 * it needs in its name, instead of failing it.
 *
 * @module
 */

/** A test's name and whether to ignore it, to spread into `Deno.test({ ... })`. */
export interface Gate {
  readonly name: string;
  readonly ignore: boolean;
}

/**
 * Gates a test on permissions: `Deno.test({ ...needs("x does y", { name: "run" }), fn })`,
 * or `Deno.test(needs("x does y", { name: "run" }), fn)`. Every descriptor must be granted for
 * the test to run; ask for read with a path, so that `--allow-read=.` counts.
 */
export function needs(name: string, ...descriptors: Deno.PermissionDescriptor[]): Gate {
  const missing = descriptors.filter((d) => Deno.permissions.querySync(d).state !== "granted");
  if (missing.length === 0) return { name, ignore: false };
  const flags = [...new Set(missing.map((d) => `--allow-${d.name}`))].join(" ");
  return { name: `${name} (needs ${flags}; \`deno task test\` runs it)`, ignore: true };
}
