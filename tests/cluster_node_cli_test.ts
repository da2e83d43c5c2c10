import assert from "node:assert/strict";
import { main } from "../lib/cluster/node.ts";
import { runMain } from "../lib/cluster/_cli.ts";
import { needs } from "./_needs.ts";
import { RUN_DENO } from "./_io.ts";
import { ClusterPool } from "../lib/cluster/mod.ts";
import { Cluster, clusterTest } from "./_cluster.ts";
import { within } from "./_deadline.ts";

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, lines: { out: (l: string) => out.push(l), err: (l: string) => err.push(l) } };
}

Deno.test("node.ts --help lists every flag", async () => {
  const io = capture();
  assert.equal(await runMain(main, ["--help"], io.lines), 0);
  const help = io.out.join("\n");
  for (
    const flag of [
      "--server",
      "--workers",
      "--stream",
      "--lease",
      "--max-deliver",
      "--allow-source",
      "--modules",
      "--task-read",
      "--task-net",
      "--isolation",
      "--name",
      "--user",
      "--pass",
      "--token",
      "--tls-ca",
      "--tls-cert",
      "--tls-key",
      "--help",
    ]
  ) {
    assert.ok(help.includes(flag), `--help names ${flag}`);
  }
});

Deno.test("node.ts bad flags get one line on stderr and exit code 2", async () => {
  const cases: [string[], RegExp][] = [
    [["--frobnicate"], /^error: Unknown option '--frobnicate'/],
    [["--workers", "0"], /^error: --workers must be an integer from 1 to 1024, got "0"/],
    [["--lease", "x"], /^error: --lease must be an integer/],
    [["--isolation", "fork"], /^error: --isolation must be thread or process/],
    [["--stream", "a.b"], /^error: --stream must be letters/],
    [["stray"], /^error: Unexpected argument 'stray'/],
    [["--tls-cert", "node.pem"], /^error: --tls-cert and --tls-key go together/],
    [["--server", "notaurl:xx"], /^error: --server must be a URL/],
    [["--server", "nats://"], /^error: --server must be a URL/],
    ...(Deno.permissions.querySync({ name: "run", command: Deno.execPath() }).state === "granted"
      ? []
      : [[["--isolation", "process"], /^error: --isolation process starts Deno/]] as [
        string[],
        RegExp,
      ][]),
  ];
  for (const [args, pattern] of cases) {
    const io = capture();
    assert.equal(await runMain(main, args, io.lines), 2, args.join(" "));
    assert.equal(io.err.length, 1);
    assert.match(io.err[0], pattern);
    assert.deepEqual(io.out, []);
  }
});

Deno.test(
  needs("the core library and both demos load no third-party module", RUN_DENO, {
    name: "read",
    path: ".",
  }),
  async () => {
    for (const entry of ["lib/mod.ts", "pool.ts", "threads.ts"]) {
      const { stdout, success } = await new Deno.Command(Deno.execPath(), {
        args: ["info", "--json", entry],
        cwd: new URL("../", import.meta.url),
        stderr: "null",
      }).output();
      assert.ok(success, entry);
      const graph = JSON.parse(new TextDecoder().decode(stdout));
      const foreign = (graph.modules as { specifier: string }[])
        .map((m) => m.specifier)
        .filter((specifier) => !specifier.startsWith("file:") && !specifier.startsWith("node:"));
      assert.deepEqual(foreign, [], entry);
    }
  },
);

Deno.test(
  needs("node.ts says in one line, exit code 1, that it cannot reach its server", {
    name: "net",
    host: "127.0.0.1",
  }),
  async () => {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = listener.addr.port;
    listener.close();
    const io = capture();
    const args = ["--server", `nats://127.0.0.1:${port}`, "--workers", "1"];
    assert.equal(await runMain(main, args, io.lines), 1);
    assert.equal(io.err.length, 1);
    assert.match(io.err[0], /^error: cannot start the node: /);
  },
);

Deno.test({
  ...clusterTest("a node and a pool reach a server that requires TLS, with its CA"),
  fn: async () => {
    const tls = new URL("./fixtures/tls/", import.meta.url);
    await using cluster = await Cluster.start({
      serverArgs: [
        "--tlscert",
        new URL("server.pem", tls).pathname,
        "--tlskey",
        new URL("server.key", tls).pathname,
      ],
    });
    const caFile = new URL("ca.pem", tls).pathname;
    await cluster.startNode({ workers: 1, flags: ["--allow-source", "--tls-ca", caFile] });
    // Without the CA, the server's certificate is not trusted.
    await assert.rejects(ClusterPool.connect({ servers: cluster.url, timeout: 5_000 }));
    await using pool = await ClusterPool.connect({ servers: cluster.url, tls: { caFile } });
    assert.deepEqual(
      await within(pool.map((n: number) => n * n, [1, 2, 3]), "map", 30_000),
      [1, 4, 9],
    );
  },
});
