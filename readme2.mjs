import { Socket } from "phoenix";
import WebSocket from "ws";
const socket = new Socket("ws://127.0.0.1:40957/socket", { transport: WebSocket });
socket.connect();
const ch = socket.channel("rooms:lobby"); let n = 0; ch.on("tick", () => n++); ch.onMessage = (e, p) => { if (!e.startsWith("phx_")) n++; return p; };
ch.join().receive("ok", () => console.log("joined"));
setTimeout(() => { console.log("messages in 2s:", n); process.exit(0); }, 2000);
