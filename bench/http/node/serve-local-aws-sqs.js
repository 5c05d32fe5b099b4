// Starts local-aws-sqs on 127.0.0.1:<port> for bench/http/run.sh; prints "ready <port>".
"use strict";
const { createSqsServer } = require("local-aws-sqs");
const port = Number(process.argv[2] || 0);
createSqsServer({ port, hostname: "127.0.0.1", accountId: "000000000000" }).then((server) => {
  console.log(`ready ${server.address().port}`);
});
