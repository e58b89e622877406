/** Node `cluster` with WORKERS `ws` echo workers sharing PORT: the primary accepts and hands connections round-robin. */
import cluster from "node:cluster";

if (cluster.isPrimary) {
  const workers = Number(process.env.WORKERS);
  for (let i = 0; i < workers; i += 1) cluster.fork();
  // The bench waits for this line: a handshake proves one worker listens, this says all of them do.
  let listening = 0;
  cluster.on("listening", () => {
    listening += 1;
    if (listening === workers) process.stdout.write("all workers listening\n");
  });
  let stopping = false;
  cluster.on("exit", () => {
    if (!stopping) cluster.fork();
  });
  process.on("SIGTERM", () => {
    stopping = true;
    for (const worker of Object.values(cluster.workers)) worker.kill("SIGTERM");
    setTimeout(() => process.exit(0), 3000).unref();
    cluster.on("exit", () => {
      if (Object.keys(cluster.workers).length === 0) process.exit(0);
    });
  });
} else {
  await import("./ws-echo.js");
}
