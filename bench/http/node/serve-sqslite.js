// Starts sqslite on 127.0.0.1:<port> (0: any free port) for bench/http/run.sh; prints
// "ready <port>". sqslite speaks only the Query protocol and accepts only queue URLs on host
// localhost (http://localhost:<port>/queues/<name>), whatever address it listens on.
"use strict";
const sqslite = require("sqslite");
const port = Number(process.argv[2] || 0);
const server = sqslite({ logger: false });  // its CLI logs every request; measured without
server.listen({ host: "127.0.0.1", port }, (err) => {
  if (err) throw err;
  console.log(`ready ${server.server.address().port}`);
});
