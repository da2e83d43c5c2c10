/**
 * Least privilege: a task reaches files, the environment and the network
 * only when its pool was created to allow it, whatever the program holds.
 */
import assert from "node:assert/strict";
import { Pool, TaskError } from "../lib/mod.ts";
import { RUN_DENO, runDeno } from "./_io.ts";
import { needs } from "./_needs.ts";

const fixtures = new URL("./fixtures/", import.meta.url);
const fixtureFile = new URL("tasks.ts", fixtures);
const SECRET = "POOL_TEST_SECRET";
const READ_FIXTURES: Deno.PermissionDescriptor = { name: "read", path: fixtures };
/** What the program itself holds in the tests that set it against its pool's tasks. */
const HELD: Deno.PermissionDescriptor[] = [
  READ_FIXTURES,
  { name: "env", variable: SECRET },
  { name: "net", host: "127.0.0.1" },
];

function readFile(path: string): string {
  return Deno.readTextFileSync(path).slice(0, 6);
}

function readEnv(name: string): string | undefined {
  return Deno.env.get(name);
}

async function connect(port: number, hostname = "127.0.0.1"): Promise<string> {
  const conn = await Deno.connect({ hostname, port });
  conn.close();
  return "connected";
}

/** A listener on a free port of 127.0.0.1, closed by `using`. */
function listen(): Deno.TcpListener & Disposable {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  // Accept and drop connections so a connecting task is not left waiting.
  (async () => {
    for await (const conn of listener) conn.close();
  })().catch(() => {});
  return Object.assign(listener, { [Symbol.dispose]: () => listener.close() });
}

async function refusal(promise: Promise<unknown>): Promise<TaskError> {
  const error = await promise.then(
    () => assert.fail("the task was allowed"),
    (e: unknown) => e,
  );
  assert.ok(error instanceof TaskError, String(error));
  assert.match((error.cause as Error).message, /^Requires (read|env|net) access/);
  assert.match(error.message, /workers have no permissions unless the pool grants them/);
  return error;
}

Deno.test(
  needs("by default a task can read no file, variable or socket that the program can", ...HELD),
  async () => {
    Deno.env.set(SECRET, "hunter2");
    using listener = listen();
    const port = listener.addr.port;
    // The program itself holds all three permissions...
    assert.equal(readFile(fixtureFile.pathname), "/**\n *");
    assert.equal(readEnv(SECRET), "hunter2");
    assert.equal(await connect(port), "connected");
    // ...and its pool's tasks get none of them.
    await using pool = new Pool({ workers: 1 });
    const read = await refusal(pool.apply(readFile, [fixtureFile.pathname]));
    assert.match(read.message, /^Task 0 \(readFile\) failed: NotCapable: Requires read access/);
    await refusal(pool.apply(readEnv, [SECRET]));
    await refusal(pool.apply(connect, [port]));
    // A module task is a file to read, so it is refused too.
    await refusal(pool.apply((url: string) => import(url).then(() => 1), [fixtureFile.href]));
  },
);

Deno.test(needs("a pool grants exactly the permissions it was created with", ...HELD), async () => {
  Deno.env.set(SECRET, "hunter2");
  using listener = listen();
  const port = listener.addr.port;
  await using pool = new Pool({
    workers: 1,
    permissions: { read: [fixtures], env: [SECRET], net: ["127.0.0.1"] },
  });
  assert.equal(await pool.apply(readFile, [fixtureFile.pathname]), "/**\n *");
  assert.equal(await pool.apply(readEnv, [SECRET]), "hunter2");
  assert.equal(await pool.apply(connect, [port]), "connected");
  // Only what was named: another folder, variable or host stays closed.
  await refusal(pool.apply(readFile, [new URL("../deno.json", import.meta.url).pathname]));
  await refusal(pool.apply(readEnv, ["PATH"]));
  await refusal(pool.apply(connect, [port, "localhost"]));
});

Deno.test(
  needs('permissions: "inherit" gives the tasks the program\'s own permissions', READ_FIXTURES),
  async () => {
    await using pool = new Pool({ workers: 1, permissions: "inherit" });
    assert.equal(await pool.apply(readFile, [fixtureFile.pathname]), "/**\n *");
  },
);

Deno.test("a task cannot raise its own permissions", async () => {
  await using pool = new Pool({ workers: 1 });
  const states = await pool.apply(async () => {
    const asked = await Deno.permissions.request({ name: "read" });
    return [asked.state, Deno.permissions.querySync({ name: "env" }).state];
  }, []);
  assert.notEqual(states[0], "granted");
  assert.notEqual(states[1], "granted");
});

Deno.test("permissions that are not none, inherit or an object are refused", () => {
  for (const bad of ["all", true, null, ["read"]]) {
    assert.throws(
      () => new Pool({ workers: 1, permissions: bad as never }),
      (e: unknown) =>
        e instanceof TypeError && /"permissions" as it must be "none", "inherit"/.test(e.message),
    );
  }
});

Deno.test(
  needs("without the worker-options feature Deno ends the program, as the README says", RUN_DENO),
  async () => {
    const program = 'import { Pool } from "./lib/mod.ts";' +
      "const pool = new Pool({ workers: 1 }); await pool.apply(() => 1, []); await pool.close();";
    const result = await runDeno(["eval", "--no-config", program]);
    assert.equal(result.code, 70);
    assert.match(result.stderr, /--unstable-worker-options/);
    const inherit = program.replace("workers: 1", 'workers: 1, permissions: "inherit"');
    assert.equal((await runDeno(["eval", "--no-config", inherit])).code, 0);
  },
);
