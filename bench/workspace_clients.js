// The 50 people of bench/workspace.py, in one Node process (socket.io-client, the browser's own
// library): Python clients would spend more CPU on receiving than the server spends on sending.
//   node bench/workspace_clients.js <url> <kb> <seconds> <out.json>   (the access tokens on stdin, one a line)
// Writes JSON: each stamped line's latency (ms, sorted), bytes received per person, how many finished.
"use strict";
const fs = require("fs");
const { io } = require("socket.io-client");

const [url, kb, seconds, out] = process.argv.slice(2);
const STAMP = /T(\d{10}\.\d{6}) /g;
let input = "";
process.stdin.on("data", (chunk) => { input += chunk; });
process.stdin.on("end", () => run(input.split("\n").filter(Boolean)));

function connect(token) {
  return new Promise((resolve, reject) => {
    const person = { received: 0, latencies: [], busy: false, done: false };
    person.socket = io(url, { auth: { token: "Bearer " + token }, transports: ["websocket"], reconnection: false });
    person.socket.on("connect", () => resolve(person));
    person.socket.on("connect_error", reject);
    person.socket.on("message", (event) => {
      const now = Date.now() / 1000;
      const content = event.payload.content;
      person.received += Buffer.byteLength(content);
      for (const match of content.matchAll(STAMP)) person.latencies.push((now - Number(match[1])) * 1000);
    });
    person.socket.on("status", (event) => {
      if (event.payload.status === "processing") person.busy = true;
      else if (event.payload.status === "idle" && person.busy) person.done = true;
    });
  });
}

async function run(tokens) {
  const people = await Promise.all(tokens.map(connect));
  // Each session and its agent first (50 agents starting at once is measured apart: "started_s").
  const starting = Date.now();
  await Promise.all(people.map((person) => new Promise((resolve) => {
    person.socket.emit("message", { content: "echo ready" }, (ack) => { person.sessionId = ack.sessionId; resolve(); });
  })));
  while (!people.every((p) => p.done)) await new Promise((r) => setTimeout(r, 50));
  const startedIn = (Date.now() - starting) / 1000;
  const started = Date.now();
  for (const person of people) {
    person.busy = person.done = false;
    person.latencies = [];
    person.received = 0;
    person.socket.emit("message", { content: `stamp ${kb} ${seconds}`, sessionId: person.sessionId });
  }
  const limit = started + (Number(seconds) * 6 + 60) * 1000;
  while (!people.every((p) => p.done) && Date.now() < limit) await new Promise((r) => setTimeout(r, 100));
  const latencies = people.flatMap((p) => p.latencies).sort((a, b) => a - b);
  people.forEach((p) => p.socket.disconnect());
  fs.writeFileSync(out, JSON.stringify({ elapsed_s: (Date.now() - started) / 1000, started_s: startedIn, latencies,
    received: people.map((p) => p.received), finished: people.filter((p) => p.done).length }));
  process.exit(0);
}
