// Shared by the Node compat tests: starts one lqsd per test file, loads the npm clients with
// a clear message when they are missing, and computes SQS's MD5 digests (SQS_REFERENCE §5.3).
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

export const ACCOUNT = "000000000000";
export const REGION = "us-east-1";
export const CREDENTIALS = { accessKeyId: "x", secretAccessKey: "x" };

// Clients that build their own SQSClient (sqs-consumer, sqs-producer) read these.
process.env.AWS_REGION = REGION;
process.env.AWS_ACCESS_KEY_ID = CREDENTIALS.accessKeyId;
process.env.AWS_SECRET_ACCESS_KEY = CREDENTIALS.secretAccessKey;
delete process.env.AWS_PROFILE;
delete process.env.AWS_ENDPOINT_URL;
delete process.env.AWS_ENDPOINT_URL_SQS;

const SETUP_HINT =
  "is not installed in tests/compat/node: run tools/setup-compat.sh (it runs `npm ci` there; " +
  "needs node >= 20 and npm)";

/** Imports an npm package of package.json, failing with what to run when it is missing. */
export async function need(pkg) {
  try {
    return await import(pkg);
  } catch (err) {
    throw new Error(`${pkg} ${SETUP_HINT} (${err.message})`);
  }
}

/** FIFO SequenceNumber: 128-bit, sent as a decimal string of about 20 digits (§4). */
export const SEQUENCE_NUMBER = /^[0-9]{20}$/;

export function arn(name) {
  return `arn:aws:sqs:${REGION}:${ACCOUNT}:${name}`;
}

let counter = 0;
/** Queue names are never reused: SQS refuses a name for 60 s after DeleteQueue. */
export function uniqueName(tag) {
  counter += 1;
  return `node-${tag}-${counter}`;
}

export function md5Hex(data) {
  return createHash("md5").update(data).digest("hex");
}

/** MD5OfMessageAttributes over {name: {DataType, StringValue | BinaryValue}}. */
export function md5OfAttributes(attributes) {
  const h = createHash("md5");
  const field = (bytes) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(bytes.length);
    h.update(len);
    h.update(bytes);
  };
  for (const name of Object.keys(attributes).sort()) {
    const value = attributes[name];
    field(Buffer.from(name, "utf8"));
    field(Buffer.from(value.DataType, "utf8"));
    if (value.StringValue !== undefined) {
      h.update(Buffer.from([1]));
      field(Buffer.from(value.StringValue, "utf8"));
    } else {
      h.update(Buffer.from([2]));
      field(Buffer.from(value.BinaryValue));
    }
  }
  return h.digest("hex");
}

/**
 * Starts lqsd ($LQSD) in fresh directories; resolves once it printed its ready line.
 * LQS_COMPAT_ENDPOINT=http://HOST:PORT uses a server already running instead (debugging).
 */
export async function startLqsd() {
  if (process.env.LQS_COMPAT_ENDPOINT) {
    return { endpoint: process.env.LQS_COMPAT_ENDPOINT, stderr: () => "", async stop() {} };
  }
  const bin = process.env.LQSD;
  if (!bin || !existsSync(bin)) {
    throw new Error(`set LQSD to the lqsd binary (ctest does); got ${JSON.stringify(bin)}`);
  }
  const dataDir = mkdtempSync(path.join(tmpdir(), "lqs-compat-data-"));
  const shmBase = existsSync("/dev/shm") ? "/dev/shm" : tmpdir();
  const shmRoot = mkdtempSync(path.join(shmBase, `lqs-compat-${process.pid}-`));
  const child = spawn(
    bin,
    ["--shm-root", shmRoot, "--data-dir", dataDir, "--listen", "127.0.0.1:0"],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let stderr = "";
  child.stderr.on("data", (d) => {
    stderr = (stderr + d).slice(-20000);
  });
  const exited = new Promise((resolve) => {
    child.on("exit", (code, signal) => resolve({ code, signal }));
  });
  const cleanup = () => {
    rmSync(shmRoot, { recursive: true, force: true });
    rmSync(dataDir, { recursive: true, force: true });
  };
  let hostport;
  try {
    hostport = await new Promise((resolve, reject) => {
      let out = "";
      const timer = setTimeout(() => {
        reject(new Error(`lqsd printed no ready line in 20 s: ${stderr}`));
      }, 20000);
      child.stdout.on("data", (d) => {
        out += d;
        const m = /lqsd ready: .*http:\/\/([^/\s]+)\/metrics/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      });
      exited.then(({ code }) => {
        clearTimeout(timer);
        reject(new Error(`lqsd exited (${code}) before it was ready: ${stderr}`));
      });
    });
  } catch (err) {
    child.kill("SIGKILL");
    cleanup();
    throw err;
  }
  return {
    endpoint: `http://${hostport}`,
    stderr: () => stderr,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 10000);
        await exited;
        clearTimeout(timer);
      }
      cleanup();
      return exited;
    },
  };
}

/** An SQSClient for lqsd; with endpoint null it follows each request's QueueUrl instead. */
export function sqsClient(SQS, endpoint) {
  const config = { region: REGION, credentials: CREDENTIALS, maxAttempts: 1 };
  if (endpoint) {
    config.endpoint = endpoint;
  }
  return new SQS.SQSClient(config); // md5 checks stay on (the default)
}

/** A timer as a promise, cancelled after use: a pending one would keep node (and ctest) waiting. */
function timer(ms, value) {
  let id;
  const promise = new Promise((resolve) => {
    id = setTimeout(resolve, ms, value);
  });
  return { promise, cancel: () => clearTimeout(id) };
}

/**
 * Starts an sqs-consumer Consumer and stops it once it processed `count` messages, at its first
 * error event (no point polling on), or after `timeoutMs`. Resolves to
 * { outcome: "done" | "error" | "timeout", processed, errors }.
 */
export async function consumeAll(consumer, count, timeoutMs = 20000) {
  const errors = [];
  let processed = 0;
  const settled = new Promise((resolve) => {
    consumer.on("message_processed", () => {
      processed += 1;
      if (processed === count) resolve("done");
    });
    for (const event of ["error", "processing_error", "timeout_error"]) {
      consumer.on(event, (err) => {
        errors.push(`${event}: ${err.name}: ${err.message}`);
        resolve("error");
      });
    }
  });
  const stopped = new Promise((resolve) => consumer.on("stopped", resolve));
  consumer.start();
  const deadline = timer(timeoutMs, "timeout");
  const outcome = await Promise.race([settled, deadline.promise]);
  deadline.cancel();
  consumer.stop();
  const grace = timer(5000);
  await Promise.race([stopped, grace.promise]);
  grace.cancel();
  return { outcome, processed, errors };
}

/** [ApproximateNumberOfMessages, ApproximateNumberOfMessagesNotVisible] of a queue. */
export async function counts(S, sqs, QueueUrl) {
  const { Attributes } = await sqs.send(new S.GetQueueAttributesCommand({
    QueueUrl,
    AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
  }));
  return [Number(Attributes.ApproximateNumberOfMessages),
    Number(Attributes.ApproximateNumberOfMessagesNotVisible)];
}

/** Asserts that `promise` rejects with the SQS error SDKs show for a query-compatible error. */
export async function assertSqsError(assert, promise, { name, code, status }) {
  await assert.rejects(promise, (err) => {
    const status = err.$metadata?.httpStatusCode;
    const seen = `${err.name} Code=${err.Code} status=${status}: ${err.message}`;
    assert.equal(err.name, name, seen);
    assert.equal(err.Code, code, seen);
    assert.equal(err.$metadata?.httpStatusCode, status, seen);
    assert.equal(err.$fault, "client", seen);
    assert.equal(err.Type, "Sender", seen);
    return true;
  });
}
