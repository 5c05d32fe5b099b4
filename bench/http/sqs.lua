-- wrk script for bench/http/run.sh: one SQS workload over keep-alive connections.
--
--   wrk ... URL -s sqs.lua -- <protocol> <workload> <queue-url>[,<queue-url>...] [auth]
--     protocol: json  (AWS JSON 1.0, X-Amz-Target: AmazonSQS.<Action>)
--               query (form-encoded Action=..., XML answers)
--     workload: send     SendMessage, one 64-byte body per request
--               batch10  SendMessageBatch of 10 such bodies
--               recvdel  ReceiveMessage (1 message), then DeleteMessage of the handle it gave;
--                        the handles a thread has received are deleted before it receives again
--     auth:     "sigv4" adds an (unchecked) SigV4 Authorization header naming the service
--               sqs, which moto needs to route the request to its SQS backend
--   Several queue URLs: wrk thread i (1-based) uses URL ((i - 1) mod n) + 1, so that a long
--   batch10 run spreads over queues (an lqs queue holds at most 4,194,304 messages).
--   batch10 counts the entries that a 200 answer lists as failed (a full queue, for one).
--
-- done() prints one line, "RESULT key=value ...", that run.sh parses.

local body64 = string.rep("x", 64)
local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end

local function urlencode(s)
  return (s:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

local protocol, workload, queue_url
local send_req, batch_req, recv_req
local handles = {}
-- Per-thread counters, read by done() through thread:get().
received = 0     -- messages received (handles parsed)
receives = 0     -- receives sent (those that found no message: receives - received)
deletes = 0      -- deletes sent
bad = 0          -- non-200 responses
failed = 0       -- batch entries a 200 answer listed as failed
first_bad = ""   -- the first non-200 body, for the report

local function json_req(action, body)
  local h = {}
  for k, v in pairs(wrk.headers) do h[k] = v end
  h["X-Amz-Target"] = "AmazonSQS." .. action
  return wrk.format("POST", nil, h, body)
end

local function query_req(body)
  return wrk.format("POST", nil, nil, body)
end

function init(args)
  protocol, workload = args[1], args[2]
  local urls = {}
  for u in string.gmatch(args[3], "[^,]+") do urls[#urls + 1] = u end
  queue_url = urls[((tid or 1) - 1) % #urls + 1]
  local auth = args[4]
  if protocol == "json" then
    wrk.headers["Content-Type"] = "application/x-amz-json-1.0"
  else
    wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
  end
  if auth == "sigv4" then
    wrk.headers["Authorization"] = "AWS4-HMAC-SHA256 Credential=AKIDBENCH/20260101/us-east-1/" ..
        "sqs/aws4_request, SignedHeaders=host, Signature=00"
  end
  local qurl_json = '"QueueUrl":"' .. queue_url .. '"'
  local qurl_form = "QueueUrl=" .. urlencode(queue_url)
  if protocol == "json" then
    send_req = json_req("SendMessage", "{" .. qurl_json .. ',"MessageBody":"' .. body64 .. '"}')
    local entries = {}
    for i = 1, 10 do
      entries[i] = '{"Id":"m' .. i .. '","MessageBody":"' .. body64 .. '"}'
    end
    batch_req = json_req("SendMessageBatch",
                         "{" .. qurl_json .. ',"Entries":[' .. table.concat(entries, ",") .. "]}")
    recv_req = json_req("ReceiveMessage", "{" .. qurl_json .. ',"MaxNumberOfMessages":1}')
  else
    send_req = query_req("Action=SendMessage&" .. qurl_form .. "&MessageBody=" .. body64)
    local entries = {}
    for i = 1, 10 do
      local p = "SendMessageBatchRequestEntry." .. i
      entries[i] = p .. ".Id=m" .. i .. "&" .. p .. ".MessageBody=" .. body64
    end
    batch_req = query_req("Action=SendMessageBatch&" .. qurl_form .. "&" ..
                          table.concat(entries, "&"))
    recv_req = query_req("Action=ReceiveMessage&" .. qurl_form .. "&MaxNumberOfMessages=1")
  end
end

local function delete_req(handle)
  deletes = deletes + 1
  if protocol == "json" then
    return json_req("DeleteMessage",
                    '{"QueueUrl":"' .. queue_url .. '","ReceiptHandle":"' .. handle .. '"}')
  end
  return query_req("Action=DeleteMessage&QueueUrl=" .. urlencode(queue_url) ..
                   "&ReceiptHandle=" .. urlencode(handle))
end

function request()
  if workload == "send" then
    return send_req
  elseif workload == "batch10" then
    return batch_req
  end
  local n = #handles
  if n > 0 then
    local h = handles[n]
    handles[n] = nil
    return delete_req(h)
  end
  receives = receives + 1
  return recv_req
end

function response(status, headers, body)
  if status ~= 200 then
    bad = bad + 1
    if first_bad == "" then
      first_bad = status .. " " .. string.sub(body or "", 1, 200):gsub("%s+", " ")
    end
    return
  end
  if workload == "batch10" then
    local pattern = protocol == "json" and '"SenderFault"' or "<BatchResultErrorEntry>"
    local _, n = string.gsub(body or "", pattern, "")
    failed = failed + n
    return
  end
  if workload ~= "recvdel" then
    return
  end
  local pattern = protocol == "json" and '"ReceiptHandle":%s*"([^"]+)"' or
                  "<ReceiptHandle>([^<]+)</ReceiptHandle>"
  for h in string.gmatch(body, pattern) do
    handles[#handles + 1] = h
    received = received + 1
  end
end

function done(summary, latency, requests)
  local r, e, d, b, f = 0, 0, 0, 0, 0
  local fb = ""
  for _, t in ipairs(threads) do
    r = r + t:get("received")
    e = e + t:get("receives")
    d = d + t:get("deletes")
    b = b + t:get("bad")
    f = f + t:get("failed")
    if fb == "" then fb = t:get("first_bad") end
  end
  local errs = summary.errors
  -- Receives that found no message: those sent, less those that returned one, less those
  -- still unanswered when wrk stopped (at most one per connection; counted as if all were
  -- receives, so this is a lower bound).
  local unanswered = math.max(0, e + d - summary.requests)
  local empty = math.max(0, e - r - unanswered)
  io.write(string.format(
      "RESULT requests=%d duration_us=%d p50_us=%d p99_us=%d non2xx=%d sock_errors=%d " ..
      "received=%d receives=%d deletes=%d empty=%d bad=%d failed=%d first_bad=%q\n",
      summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
      errs.status, errs.connect + errs.read + errs.write + errs.timeout, r, e, d, empty, b, f,
      fb))
end
