#!/usr/bin/env node
// Tiny fake OpenAI-compatible model server for OpenClaw end-to-end tests (clawmesh's copy of
// the lab's fake model, with two changes: an "[Inter-session message]" is echoed by its body,
// not its header; and in OpenClaw's agent-to-agent reply and announce steps it answers
// REPLY_SKIP / ANNOUNCE_SKIP, as a model with nothing to add would, unless the message holds
// the word PINGPONG, which keeps the exchange going to its turn limit).
// Listens on 127.0.0.1 only. Implements:
//   GET  /v1/models
//   POST /v1/chat/completions   (stream and non-stream)
//   POST /v1/responses          (stream and non-stream, minimal)
// Reply text: "ECHO(<port>): <last user text>" unless FAKE_REPLY is set.
// Scripted tool call: user text "CALL_TOOL <tool> <json>" -> one tool call, then "TOOL_RESULT(<tool>): ...".
// A user text that starts with HOLD is answered only after HOLD_MS (default 20 s), or never if the
// Gateway hangs up first: a turn still running when the test stops that Gateway.
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
// first line of its body (see bodyOf).
function lastUserText(messages) {
  const t = lastUserFull(messages);
  return t === "" ? "" : firstLine(bodyOf(t));
}
function lastUserFull(messages) {
  if (!Array.isArray(messages)) return "";
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i];
    if (!m || m.role !== "user") continue;
    const t = partsText(m.content);
    if (t.includes(INTERNAL)) continue;
    return t;
  }
  return "";
}
// The message without OpenClaw's "[Tue 2026-11-24 13:14 UTC] " time prefix and, for an
// inter-session message, without its header lines: clawmesh puts the body after a blank line.
function bodyOf(t) {
  const text = t.replace(/^\[[^\]]*\d{4}-\d{2}-\d{2}[^\]]*\]\s*/, "");
  if (!text.startsWith("[Inter-session message]")) return text;
  const blank = text.indexOf("\n\n");
  return blank !== -1 ? text.slice(blank + 2) : text.split("\n").slice(2).join("\n");
}
function firstLine(t) {
  return t.split("\n")[0].replace(/^\[[^\]]*\]\s*/, "");
}
function systemText(messages) {
  if (!Array.isArray(messages)) return "";
  return messages.filter((m) => m && (m.role === "system" || m.role === "developer")).map((m) => partsText(m.content)).join("\n");
}
// OpenClaw's agent-to-agent steps: stay silent unless the exchange is meant to run (PINGPONG).
function a2aReply(messages) {
  if (lastUserFull(messages).includes("PINGPONG")) return null;
  const system = systemText(messages);
  if (system.includes("Agent-to-agent reply step")) return "REPLY_SKIP";
  if (system.includes("Agent-to-agent announce step")) return "ANNOUNCE_SKIP";
  return null;
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
    if (/^HOLD\b/.test(lastUserText(body.messages))) {
      const gone = await new Promise((resolve) => {
        const timer = setTimeout(() => resolve(false), Number(process.env.HOLD_MS || 20000));
        res.once("close", () => { clearTimeout(timer); resolve(true); });
      });
      if (gone) return;
    }
    const plan = toolPlan(body.messages);
    const text = plan?.done ? `TOOL_RESULT(${plan.name}): ${plan.result.slice(0, 300)}` : (a2aReply(body.messages) ?? reply(lastUserText(body.messages)));
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
