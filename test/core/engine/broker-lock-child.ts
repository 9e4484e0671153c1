// Test helper (not a test): opens a Broker on argv[2], prints "ready <pid>", and holds it until killed.
import * as fs from "node:fs";
import { Broker } from "../../../core/engine/broker.ts";

const broker = await Broker.open({ dataDir: process.argv[2]!, retentionCheckIntervalMs: 0, cleanerIntervalMs: 0, flushCheckIntervalMs: 0 });
fs.writeSync(1, `ready ${process.pid}\n`);
// Keep the process alive (the broker's own timers are unref'd) until the test kills it.
setInterval(() => broker.listTopics(), 1 << 30);
