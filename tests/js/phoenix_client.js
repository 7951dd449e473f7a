// Drives the official phoenix.js client for the interop tests (slipstream/tests/endpoint_phoenix_js.rs).
//
//   node tests/js/phoenix_client.js ws://127.0.0.1:4001/socket '{"heartbeatIntervalMs":100}'
//
// Connects to the endpoint URL given (phoenix.js appends /websocket), then follows commands
// read from stdin, one JSON object a line:
//   {"cmd":"join","topic":"rooms:lobby","params":{}}
//   {"cmd":"leave","topic":"rooms:lobby"}
//   {"cmd":"push","topic":"rooms:lobby","event":"ping","payload":{}}
//   {"cmd":"exit"}
// and prints one JSON object a line on stdout for every event: open, close, error,
// heartbeat_reply, joined, refused, join_timeout, channel_error, channel_closed, left,
// message (binary payloads as base64 in "binary"), reply. Needs `npm ci` at the repository root.
//
// With {"rawFrames":true} in OPTIONS_JSON, each message event also carries the WebSocket
// frame it came in, untouched: "raw" for a text frame, "rawHex" (and the payload as
// "binaryHex") for a binary one. tests/repeater_e2e.rs uses it to check payload bytes.

"use strict";

const readline = require("node:readline");
const { Socket, Serializer } = require("phoenix");
// Node 20 has no global WebSocket; phoenix.js takes the transport as an option.
const WebSocket = require("ws");

const url = process.argv[2];
if (!url) {
  process.stderr.write("usage: phoenix_client.js URL [OPTIONS_JSON]\n");
  process.exit(2);
}
const options = JSON.parse(process.argv[3] || "{}");

function emit(event) {
  process.stdout.write(JSON.stringify(event) + "\n");
}

function payloadFields(payload) {
  if (payload instanceof ArrayBuffer) {
    const bytes = Buffer.from(payload);
    const hex = options.rawFrames ? { binaryHex: bytes.toString("hex") } : {};
    return { binary: bytes.toString("base64"), ...hex };
  }
  return { payload };
}

// phoenix.js decodes each frame and hands it to the channels synchronously, so the frame
// being decoded is the one behind the message event emitted meanwhile.
let currentFrame = null;

function rawDecode(raw, callback) {
  currentFrame = raw;
  try {
    Serializer.decode(raw, callback);
  } finally {
    currentFrame = null;
  }
}

function rawFields() {
  if (!options.rawFrames || currentFrame === null) return {};
  if (typeof currentFrame === "string") return { raw: currentFrame };
  return { rawHex: Buffer.from(currentFrame).toString("hex") };
}

const socket = new Socket(url, {
  transport: WebSocket,
  heartbeatIntervalMs: options.heartbeatIntervalMs,
  reconnectAfterMs: () => options.reconnectAfterMs || 50,
  rejoinAfterMs: () => options.rejoinAfterMs || 50,
  authToken: options.authToken,
  params: options.params || {},
  decode: options.rawFrames ? rawDecode : undefined,
});

socket.onOpen(() => emit({ type: "open" }));
socket.onClose((event) => emit({ type: "close", code: event && event.code }));
socket.onError((error) => emit({ type: "error", message: String((error && error.message) || "") }));
socket.onMessage((message) => {
  if (message.topic === "phoenix" && message.event === "phx_reply") {
    emit({ type: "heartbeat_reply", status: message.payload.status });
  }
});
socket.connect();

const channels = new Map();

function join(topic, params) {
  const channel = socket.channel(topic, params || {});
  channel.onMessage = (event, payload) => {
    if (!event.startsWith("phx_") && !event.startsWith("chan_reply_")) {
      emit({ type: "message", topic, event, ...payloadFields(payload), ...rawFields() });
    }
    return payload;
  };
  channel.onError(() => emit({ type: "channel_error", topic }));
  channel.onClose(() => emit({ type: "channel_closed", topic }));
  channel
    .join()
    .receive("ok", (response) => emit({ type: "joined", topic, response }))
    .receive("error", (response) => emit({ type: "refused", topic, response }))
    .receive("timeout", () => emit({ type: "join_timeout", topic }));
  channels.set(topic, channel);
}

function leave(topic) {
  const channel = channels.get(topic);
  channels.delete(topic);
  channel.leave().receive("ok", () => emit({ type: "left", topic }));
}

function push(topic, event, payload) {
  channels
    .get(topic)
    .push(event, payload || {})
    .receive("ok", (response) => emit({ type: "reply", topic, event, status: "ok", response }))
    .receive("error", (response) => emit({ type: "reply", topic, event, status: "error", response }));
}

const commands = readline.createInterface({ input: process.stdin });
commands.on("line", (line) => {
  if (!line.trim()) return;
  const command = JSON.parse(line);
  switch (command.cmd) {
    case "join":
      return join(command.topic, command.params);
    case "leave":
      return leave(command.topic);
    case "push":
      return push(command.topic, command.event, command.payload);
    case "exit":
      socket.disconnect(() => process.exit(0));
      return;
    default:
      emit({ type: "error", message: `unknown command ${command.cmd}` });
  }
});
commands.on("close", () => process.exit(0));
