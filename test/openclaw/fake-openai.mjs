#!/usr/bin/env node
// Tiny fake OpenAI-compatible model server for OpenClaw end-to-end tests (clawmesh's copy of
// the lab's fake model; one change: a message forwarded by clawmesh is echoed by its body, the
// last line, instead of its "[Inter-gateway message] ..." header line).
// Listens on 127.0.0.1 only. Implements:
//   GET  /v1/models
//   POST /v1/chat/completions   (stream and non-stream)
//   POST /v1/responses          (stream and non-stream, minimal)
// Reply text: "ECHO(<port>): <last user text>" unless FAKE_REPLY is set.
// Scripted tool call: user text "CALL_TOOL <tool> <json>" -> one tool call, then "TOOL_RESULT(<tool>): ...".
// Every request body is appended as one JSON line to $FAKE_LOG (if set).
import http from "node:http";
import fs from "node:fs";

const port = Number(process.env.FAKE_PORT || process.argv[2] || 18800);
const host = "127.0.0.1";
const logFile = process.env.FAKE_LOG || "";

const INTERNAL = "<<<BEGIN_OPENCLAW_INTERNAL_CONTEXT>>>";
function partsText(content) {
  if (typeof content === "string") return content;
  if (Array.isArray(content)) {
    return content.map((p) => (typeof p === "string" ? p : p?.text ?? p?.input_text ?? "")).join("");
  }
  return "";
}
// The real user text: last user message that is not an OpenClaw internal-context block,
// first line, with the "[Tue 2026-11-24 13:14 UTC] " envelope prefix removed.
function lastUserText(messages) {
  if (!Array.isArray(messages)) return "";
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i];
    if (!m || m.role !== "user") continue;
    const t = partsText(m.content);
    if (t.includes(INTERNAL)) continue;
    if (t.includes("[Inter-gateway message]")) {
      // The body is the first line after the explanation line (OpenClaw may append context lines).
      const lines = t.split("\n").map((l) => l.trim()).filter(Boolean);
      const i = lines.findIndex((l) => l.startsWith("This message was forwarded by clawmesh"));
      return lines[i + 1] ?? "";
    }
    return t.split("\n")[0].replace(/^\[[^\]]*\]\s*/, "");
  }
  return "";
}
// Scripted tool call: user text "CALL_TOOL <name> <json-args>" makes the model call that tool
// once; after the tool result arrives the model replies "TOOL_RESULT(<name>): <result>".
function toolPlan(messages) {
  const text = lastUserText(messages);
  const m = /^CALL_TOOL\s+(\S+)\s*(.*)$/.exec(text);
  if (!m) return null;
  const lastToolIdx = messages.map((x) => x.role).lastIndexOf("tool");
  const lastUserIdx = messages.map((x) => (x.role === "user" && !partsText(x.content).includes(INTERNAL) ? "u" : "")).lastIndexOf("u");
  if (lastToolIdx > lastUserIdx) {
    return { done: true, name: m[1], result: partsText(messages[lastToolIdx].content) };
  }
  return { done: false, name: m[1], args: m[2] || "{}" };
}

function responsesInputText(input) {
  if (typeof input === "string") return input;
  if (!Array.isArray(input)) return "";
  for (let i = input.length - 1; i >= 0; i--) {
    const it = input[i];
    if (it?.role !== "user") continue;
    if (typeof it.content === "string") return it.content;
    if (Array.isArray(it.content)) return it.content.map((p) => p?.text ?? "").join("");
  }
  return "";
}

function reply(text) {
  const t = (text || "").trim().slice(0, 200);
  return process.env.FAKE_REPLY || `ECHO(${port}): ${t}`;
}

function readBody(req) {
  return new Promise((resolve) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
  });
}

const server = http.createServer(async (req, res) => {
  const raw = await readBody(req);
  let body = {};
  try { body = raw ? JSON.parse(raw) : {}; } catch { body = {}; }
  if (logFile) {
    fs.appendFileSync(logFile, JSON.stringify({ t: Date.now(), method: req.method, url: req.url, body }) + "\n");
  }
  const now = Math.floor(Date.now() / 1000);
  const model = body.model || "echo";

  if (req.method === "GET" && req.url.startsWith("/v1/models")) {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ object: "list", data: [{ id: "echo", object: "model", created: now, owned_by: "fake" }] }));
    return;
  }

  if (req.method === "POST" && req.url.startsWith("/v1/chat/completions")) {
    const plan = toolPlan(body.messages);
    const text = plan?.done ? `TOOL_RESULT(${plan.name}): ${plan.result.slice(0, 300)}` : reply(lastUserText(body.messages));
    const toolCall = plan && !plan.done
      ? { index: 0, id: "call_fake_" + Date.now(), type: "function", function: { name: plan.name, arguments: plan.args } }
      : null;
    const id = "chatcmpl-fake-" + Date.now();
    const usage = { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 };
    const finish = toolCall ? "tool_calls" : "stop";
    if (body.stream) {
      res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive" });
      const send = (o) => res.write(`data: ${JSON.stringify(o)}\n\n`);
      send({ id, object: "chat.completion.chunk", created: now, model, choices: [{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }] });
      if (toolCall) send({ id, object: "chat.completion.chunk", created: now, model, choices: [{ index: 0, delta: { tool_calls: [toolCall] }, finish_reason: null }] });
      else send({ id, object: "chat.completion.chunk", created: now, model, choices: [{ index: 0, delta: { content: text }, finish_reason: null }] });
      send({ id, object: "chat.completion.chunk", created: now, model, choices: [{ index: 0, delta: {}, finish_reason: finish }] });
      send({ id, object: "chat.completion.chunk", created: now, model, choices: [], usage });
      res.write("data: [DONE]\n\n");
      res.end();
    } else {
      const message = toolCall
        ? { role: "assistant", content: null, tool_calls: [{ id: toolCall.id, type: "function", function: toolCall.function }] }
        : { role: "assistant", content: text };
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ id, object: "chat.completion", created: now, model,
        choices: [{ index: 0, message, finish_reason: finish }], usage }));
    }
    return;
  }

  if (req.method === "POST" && req.url.startsWith("/v1/responses")) {
    const text = reply(responsesInputText(body.input));
    const id = "resp_fake_" + Date.now();
    const msg = { id: "msg_fake_" + Date.now(), type: "message", role: "assistant", status: "completed",
      content: [{ type: "output_text", text, annotations: [] }] };
    const usage = { input_tokens: 10, output_tokens: 5, total_tokens: 15 };
    const full = { id, object: "response", created_at: now, status: "completed", model, output: [msg], usage };
    if (body.stream) {
      res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
      let seq = 0;
      const ev = (type, o) => res.write(`event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: seq++, ...o })}\n\n`);
      ev("response.created", { response: { ...full, status: "in_progress", output: [] } });
      ev("response.output_item.added", { output_index: 0, item: { ...msg, status: "in_progress", content: [] } });
      ev("response.content_part.added", { item_id: msg.id, output_index: 0, content_index: 0, part: { type: "output_text", text: "", annotations: [] } });
      ev("response.output_text.delta", { item_id: msg.id, output_index: 0, content_index: 0, delta: text });
      ev("response.output_text.done", { item_id: msg.id, output_index: 0, content_index: 0, text });
      ev("response.content_part.done", { item_id: msg.id, output_index: 0, content_index: 0, part: msg.content[0] });
      ev("response.output_item.done", { output_index: 0, item: msg });
      ev("response.completed", { response: full });
      res.end();
    } else {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(full));
    }
    return;
  }

  res.writeHead(404, { "content-type": "application/json" });
  res.end(JSON.stringify({ error: { message: `fake: no route ${req.method} ${req.url}` } }));
});

server.listen(port, host, () => console.log(`fake-openai listening on http://${host}:${port}`));
